"""`journey validate`, `journey schema` and `journey preview` as a designer runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from rapport.cli import main
from tests.journey_files import BASE, write_journey

ROOT = Path(__file__).resolve().parents[2]
ACCOUNTS = ROOT / "examples" / "accounts"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_shipped_journeys_validate() -> None:
    code, out = run("validate", str(ROOT / "journeys"))
    assert code == 0, out
    assert out.count("ok  ") == len(list((ROOT / "journeys").glob("*.yaml")))


def test_validate_exits_1_with_one_line_per_problem(tmp_path: Path) -> None:
    write_journey(tmp_path, BASE.replace("wait: 2d", "wait: 2 days"), {"nudge.sms.j2": None})
    code, out = run("validate", str(tmp_path))
    assert code == 1
    lines = out.strip().splitlines()
    assert lines == [
        f"{tmp_path / 'journey.yaml'}:10: steps[1].wait: '2 days' is not a duration: write a "
        "number and a unit (m, h, d, w), largest first, e.g. 90m, 36h, 1d12h, 2w",
        f"{tmp_path / 'journey.yaml'}:12: steps[2].send.template: template nudge.sms.j2 does "
        "not exist (needed for channel sms)",
    ]


def test_validate_missing_path(tmp_path: Path) -> None:
    code, out = run("validate", str(tmp_path / "nope.yaml"))
    assert code == 1
    assert "no such file" in out


@pytest.mark.slow
def test_validate_is_a_command_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"\xff\xfe not text")
    proc = subprocess.run(
        [sys.executable, "-m", "rapport.cli", "validate", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    assert f"{bad}:1: (file): is not UTF-8 text (byte 0xff on this line)" in proc.stdout


def test_schema_accepts_every_shipped_journey_and_rejects_a_typo() -> None:
    code, out = run("schema")
    assert code == 0
    schema = json.loads(out)
    for path in (ROOT / "journeys").glob("*.yaml"):
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)
    broken = yaml.safe_load((ROOT / "journeys" / "hardship.yaml").read_text())
    broken["steps"][0]["offer_plan"]["respond_whithin"] = "3d"
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(broken))
    assert errors


def test_preview_shows_loyal_and_struggling_customers_different_messages() -> None:
    journey = str(ROOT / "journeys" / "early_stage.yaml")
    code, loyal = run(
        "preview",
        journey,
        "--account",
        str(ACCOUNTS / "loyal_first_miss.yaml"),
        "--step",
        "reminder",
    )
    assert code == 0, loyal
    code, behind = run(
        "preview", journey, "--account", str(ACCOUNTS / "already_behind.yaml"), "--step", "reminder"
    )
    assert code == 0, behind
    assert "segment loyal_first_miss" in loyal
    assert "template reminder_loyal" in loyal
    assert "Thank you for 62 months with us" in loyal
    assert "segment behind" in behind
    assert "template reminder_behind" in behind
    assert "£640.00" in behind
    assert "Reply STOP" not in behind


def test_preview_all_steps_and_plan_options() -> None:
    code, out = run(
        "preview",
        str(ROOT / "journeys" / "early_stage.yaml"),
        "--account",
        str(ACCOUNTS / "card_declined.yaml"),
    )
    assert code == 0, out
    assert "--- plan: email, template plan_offer" in out
    assert "3 payments of 411,50\xa0€" in out
    assert "--- on_paid: email, template thank_you" in out


def test_preview_rejects_a_bad_account_with_file_and_line(tmp_path: Path) -> None:
    account = tmp_path / "acct.yaml"
    account.write_text(
        (ACCOUNTS / "due_soon.yaml").read_text().replace("currency: USD", "currency: DOLLARS")
    )
    code, out = run("preview", str(ROOT / "journeys" / "pre_due.yaml"), "--account", str(account))
    assert code == 1
    assert f"{account}:10: currency: 'DOLLARS' is not an ISO 4217 currency code" in out


def test_preview_unknown_step() -> None:
    code, out = run(
        "preview",
        str(ROOT / "journeys" / "pre_due.yaml"),
        "--account",
        str(ACCOUNTS / "due_soon.yaml"),
        "--step",
        "nope",
    )
    assert code == 1
    assert "no step or block has id 'nope'; steps and blocks: heads_up, until_due" in out


def test_templates_and_expressions_that_would_hang_are_refused_quickly(tmp_path: Path) -> None:
    import time

    slow: dict[str, str | None] = {
        "nudge.sms.j2": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
        "{% endfor %}{{ opt_out }}",
        "reminder.sms.j2": "{{ 'a' * 10**8 }} {{ opt_out }}",
        "reminder.email.j2": "Subject: x\n\n{{ 7 ** (7 ** 9) }} {{ opt_out }}",
    }
    text = BASE.replace("template: nudge}", "template: nudge, when: '7 ** (7 ** 9) > 1'}")
    write_journey(tmp_path, text, slow)
    started = time.monotonic()
    code, out = run("validate", str(tmp_path))
    assert time.monotonic() - started < 2.0
    assert code == 1
    assert "range is limited to 1000 items" in out
    assert "that would make a value longer than 100000" in out
    assert "a power may not exceed 64" in out
    assert "steps[2].send.when: not allowed in an expression" in out


def test_a_wait_of_a_lifetime_is_refused(tmp_path: Path) -> None:
    write_journey(tmp_path, BASE.replace("wait: 2d", "wait: 99999999w"))
    code, out = run("validate", str(tmp_path))
    assert code == 1
    assert "steps[1].wait" in out
    assert "at most 366d" in out


def test_update_fields_read_as_people_type_them() -> None:
    from rapport.cli.parsing import parse_update

    assert parse_update(
        (
            "balance=120.50",
            "customer.email=d@example.com",
            "consent.sms=false",
            "days_past_due=40",
            "attributes.plan=gold",
        )
    ) == {
        "balance": "120.50",
        "customer": {"email": "d@example.com"},
        "consent": {"sms": False},
        "days_past_due": 40,
        "attributes": {"plan": "gold"},
    }
