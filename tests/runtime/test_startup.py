"""Production refuses development defaults: `worker.py` and `journey web` exit 2 with one
line per problem (and nothing else) while the payment provider is the dev stand-in, a
secret is missing or public, or no encryption key is set. Development (make run,
`worker.py --dev`, the tests) starts with them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rapport.runtime.servers import free_port
from rapport.runtime.settings import PRODUCTION_CHECKS, Settings, startup_problems
from rapport.security.codec import new_key_line

ROOT = Path(__file__).resolve().parents[2]
JOURNEY = ROOT / ".venv" / "bin" / "journey"
PROBLEMS = {
    "RAPPORT_PAYMENT_PROVIDER": "RAPPORT_PAYMENT_PROVIDER=dev: the stand-in provider marks "
    "anything paid; set stripe (docs/payments.md)",
    "RAPPORT_LINK_SECRET": "RAPPORT_LINK_SECRET is missing or the public development default",
    "RAPPORT_PAYMENT_API_KEY": "RAPPORT_PAYMENT_API_KEY is missing or the public development "
    "default",
    "RAPPORT_PAYMENT_WEBHOOK_SECRET": "RAPPORT_PAYMENT_WEBHOOK_SECRET is missing or the public "
    "development default",
    "RAPPORT_ENCRYPTION_KEYS": "RAPPORT_ENCRYPTION_KEYS is not set: customer data would reach "
    "Temporal in plain text (journey keys new makes a key)",
    "RAPPORT_PORTAL_URL": "RAPPORT_PORTAL_URL is not set: the links in messages would lead to "
    "http://localhost:8000, on the customer's own phone",
    "RAPPORT_CREDITOR_NAME": "RAPPORT_CREDITOR_NAME is the demo's (Rapport Demo Energy): "
    "customers would see it on the portal",
    "RAPPORT_CREDITOR_PHONE": "RAPPORT_CREDITOR_PHONE is the demo's (+1 800 555 0100): "
    "customers would call it from the portal",
}


def fit(tmp_path: Path) -> dict[str, str]:
    """A production environment with nothing left at a development default."""
    return {
        "RAPPORT_DATA_DIR": str(tmp_path),
        "RAPPORT_PAYMENT_PROVIDER": "stripe",
        "RAPPORT_LINK_SECRET": "a-real-link-secret",
        "RAPPORT_PAYMENT_API_KEY": "sk_live_real",
        "RAPPORT_PAYMENT_WEBHOOK_SECRET": "whsec_real",
        "RAPPORT_ENCRYPTION_KEYS": new_key_line("k1"),
        "RAPPORT_PORTAL_URL": "https://pay.example.com",
        "RAPPORT_CREDITOR_NAME": "Example Energy",
        "RAPPORT_CODEC_TOKEN": "an-operators-token",
        "RAPPORT_CREDITOR_PHONE": "+1 212 555 0142",
    }


def run(command: list[str], env: dict[str, str], **extra: str) -> subprocess.CompletedProcess[str]:
    """`command` with only these RAPPORT_* settings (nothing from the test run's own)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    return subprocess.run(
        command,
        env={**clean, **env, **extra},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_fit_production_has_no_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in os.environ if k.startswith("RAPPORT_")]:
        monkeypatch.delenv(key)
    for key, value in fit(tmp_path).items():
        monkeypatch.setenv(key, value)
    assert Settings().environment == "production"  # the default
    assert startup_problems(Settings()) == []
    assert len(PRODUCTION_CHECKS) == len(PROBLEMS) + 1  # and the codec's token, below


@pytest.mark.parametrize("setting", list(PROBLEMS))
def test_each_development_default_is_one_line_in_production(
    setting: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in [k for k in os.environ if k.startswith("RAPPORT_")]:
        monkeypatch.delenv(key)
    for key, value in fit(tmp_path).items():
        if key != setting:
            monkeypatch.setenv(key, value)
    if setting == "RAPPORT_PORTAL_URL":  # the default is on loopback: no codec token needed
        monkeypatch.delenv("RAPPORT_CODEC_TOKEN")
    assert startup_problems(Settings()) == [PROBLEMS[setting]]
    monkeypatch.setenv("RAPPORT_ENVIRONMENT", "development")
    allowed = [] if setting != "RAPPORT_PAYMENT_WEBHOOK_SECRET" else [PROBLEMS[setting]]
    allowed = allowed if setting != "RAPPORT_PAYMENT_API_KEY" else [PROBLEMS[setting]]
    assert startup_problems(Settings()) == allowed  # stripe never takes the public ones


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    [[sys.executable, "worker.py"], [str(JOURNEY), "web"]],
    ids=["worker", "journey web"],
)
def test_production_with_every_default_exits_2_with_one_line_each(
    command: list[str], tmp_path: Path
) -> None:
    answer = run(command, {"RAPPORT_DATA_DIR": str(tmp_path)})
    assert answer.returncode == 2
    assert answer.stdout == ""
    assert answer.stderr.splitlines() == list(PROBLEMS.values())


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    [[sys.executable, "worker.py"], [str(JOURNEY), "web"]],
    ids=["worker", "journey web"],
)
def test_production_names_only_what_is_wrong(command: list[str], tmp_path: Path) -> None:
    env = fit(tmp_path)
    del env["RAPPORT_ENCRYPTION_KEYS"]
    answer = run(command, env, RAPPORT_LINK_SECRET="dev-only-link-secret")
    assert answer.returncode == 2
    assert answer.stderr.splitlines() == [
        PROBLEMS["RAPPORT_LINK_SECRET"],
        PROBLEMS["RAPPORT_ENCRYPTION_KEYS"],
    ]


def test_a_public_web_app_in_production_needs_the_codec_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in [k for k in os.environ if k.startswith("RAPPORT_")]:
        monkeypatch.delenv(key)
    for key, value in fit(tmp_path).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("RAPPORT_CODEC_TOKEN")
    assert startup_problems(Settings()) == [
        "RAPPORT_CODEC_TOKEN is not set: https://pay.example.com/codec would decrypt "
        "customer data for anyone who reaches it; set a token and give it to the Temporal UI"
    ]
    monkeypatch.setenv("RAPPORT_CODEC_TOKEN", "an-operators-token")
    assert startup_problems(Settings()) == []
    monkeypatch.delenv("RAPPORT_CODEC_TOKEN")
    monkeypatch.setenv("RAPPORT_ENVIRONMENT", "development")
    assert startup_problems(Settings()) == []


@pytest.mark.slow
def test_a_fit_production_web_app_starts(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    web = subprocess.Popen(
        [str(JOURNEY), "web", "--port", str(port)],
        env={**env, **fit(tmp_path), "RAPPORT_PORTAL_URL": f"http://127.0.0.1:{port}"},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert web.stdout is not None
        line = web.stdout.readline()
        assert re.match(r"web app on http://127\.0\.0\.1:\d+ .*payments: stripe", line), line
    finally:
        web.terminate()
        web.wait(timeout=30)


def test_worker_dev_is_development_with_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`worker.py --dev` (what make run starts) runs in development without being told:
    it gets past the refusal with every default in place."""
    import worker

    for key in [k for k in os.environ if k.startswith("RAPPORT_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("RAPPORT_DATA_DIR", str(tmp_path))
    started: list[Settings] = []

    async def instead(settings: Settings, dev: bool = False, demo: bool = False) -> None:
        started.append(settings)

    monkeypatch.setattr(worker, "run", instead)
    monkeypatch.setattr("rapport.runtime.logs.configure", lambda *_: None)
    monkeypatch.setattr(sys, "argv", ["worker.py", "--dev"])
    worker.main()
    assert [s.environment for s in started] == ["development"]
    monkeypatch.setattr(sys, "argv", ["worker.py"])
    with pytest.raises(SystemExit) as refused:
        worker.main()
    assert refused.value.code == 2


def test_a_plain_http_portal_in_production_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in [k for k in os.environ if k.startswith("RAPPORT_")]:
        monkeypatch.delenv(key)
    for key, value in fit(tmp_path).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("RAPPORT_PORTAL_URL", "http://pay.example.com")
    assert startup_problems(Settings()) == [
        "RAPPORT_PORTAL_URL=http://pay.example.com: the links in messages carry customers' "
        "tokens; use https"
    ]


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    [[sys.executable, "worker.py"], [str(JOURNEY), "web"], [str(JOURNEY), "payments", "A-1"]],
    ids=["worker", "journey web", "journey payments"],
)
def test_a_mistyped_setting_is_one_line_not_a_traceback(command: list[str], tmp_path: Path) -> None:
    """`RAPPORT_ENVIRONMENT=prod` (or `Stripe`, or a port that is not a number) was a
    pydantic traceback and exit 1; it is one line per setting, naming what it takes and
    never the value given (it may be a secret), and exit 2."""
    answer = run(
        command,
        fit(tmp_path),
        RAPPORT_ENVIRONMENT="prod",
        RAPPORT_PAYMENT_PROVIDER="Stripe",
        RAPPORT_SMTP_PORT="s3cr3t-587",
    )
    assert answer.returncode == 2
    assert answer.stdout == ""
    assert answer.stderr.splitlines() == [
        "RAPPORT_ENVIRONMENT: input should be 'production' or 'development'",
        "RAPPORT_SMTP_PORT: input should be a valid integer, unable to parse string as an integer",
        "RAPPORT_PAYMENT_PROVIDER: input should be 'dev' or 'stripe'",
    ]


@pytest.mark.slow
def test_a_database_that_cannot_be_reached_is_one_line_without_its_password(
    tmp_path: Path,
) -> None:
    """Money review: a PostgreSQL store that is down (or a mistyped host) was a SQLAlchemy
    traceback whose text carried the URL; it is one line naming the store. (worker.py
    says the same, once it has reached Temporal.)"""
    command = [str(JOURNEY), "web"]
    url = f"postgresql+psycopg://rapport:hunter2@127.0.0.1:{free_port()}/rapport"
    answer = run(command, fit(tmp_path), RAPPORT_DATABASE_URL=url)
    assert answer.returncode != 0
    assert "Traceback" not in answer.stderr
    assert "hunter2" not in answer.stdout + answer.stderr
    assert answer.stderr.splitlines()[-1] == (
        "the store: the database cannot be reached (OperationalError)"
    )
