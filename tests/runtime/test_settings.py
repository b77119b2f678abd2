"""Settings: which adapter serves which channel, checked before the worker starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rapport.runtime.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for key in [k for k in os.environ if k.startswith("RAPPORT_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Settings()


def test_defaults_are_the_local_outbox_and_need_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    chosen = settings(monkeypatch)
    assert chosen.problems() == []
    assert {chosen.adapter_for(c) for c in ("email", "sms", "voice", "handoff")} == {"outbox"}


def test_missing_provider_settings_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    chosen = settings(
        monkeypatch,
        RAPPORT_CHANNEL_SMS="twilio",
        RAPPORT_CHANNEL_EMAIL="smtp",
        RAPPORT_SMTP_HOST="mail.example.com",
        RAPPORT_LINK_SECRET="s",
    )
    assert chosen.problems() == [
        "RAPPORT_CHANNEL_EMAIL=smtp needs RAPPORT_SMTP_FROM",
        "RAPPORT_CHANNEL_SMS=twilio needs RAPPORT_TWILIO_ACCOUNT_SID, "
        "RAPPORT_TWILIO_AUTH_TOKEN, RAPPORT_TWILIO_FROM",
    ]


def test_an_adapter_that_cannot_serve_a_channel(monkeypatch: pytest.MonkeyPatch) -> None:
    chosen = settings(
        monkeypatch,
        RAPPORT_CHANNEL_VOICE="smtp",
        RAPPORT_SMTP_HOST="h",
        RAPPORT_SMTP_FROM="f",
        RAPPORT_LINK_SECRET="s",
    )
    assert chosen.problems() == [
        "RAPPORT_CHANNEL_VOICE=smtp: smtp cannot deliver voice; use one of outbox, webhook"
    ]


def test_real_channels_need_a_real_link_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    chosen = settings(
        monkeypatch,
        RAPPORT_CHANNEL_PUSH="webhook",
        RAPPORT_WEBHOOK_URL="https://hooks.example.com",
        RAPPORT_WEBHOOK_SECRET="w",
        RAPPORT_ENVIRONMENT="development",
    )
    assert any("RAPPORT_LINK_SECRET" in p for p in chosen.problems())


def test_secrets_never_print(monkeypatch: pytest.MonkeyPatch) -> None:
    chosen = settings(
        monkeypatch,
        RAPPORT_TWILIO_AUTH_TOKEN="tok-123",
        RAPPORT_WEBHOOK_SECRET="hook-456",
        RAPPORT_LINK_SECRET="link-789",
    )
    shown = repr(chosen) + str(chosen.model_dump())
    assert not any(secret in shown for secret in ("tok-123", "hook-456", "link-789"))


@pytest.mark.slow
def test_worker_refuses_to_start_with_a_clear_message() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env["RAPPORT_CHANNEL_SMS"] = "twilio"
    env["RAPPORT_ENVIRONMENT"] = "development"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "worker.py")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "RAPPORT_CHANNEL_SMS=twilio needs RAPPORT_TWILIO_ACCOUNT_SID, "
        "RAPPORT_TWILIO_AUTH_TOKEN, RAPPORT_TWILIO_FROM",
        "RAPPORT_LINK_SECRET is the development secret; set your own before sending real messages",
    ]
    assert proc.stdout == ""
