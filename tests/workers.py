"""`python worker.py` as a separate process, for the tests that kill it or restart the
server under it: the settings it reads, starting it, killing it, cleaning up."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

from rapport.runtime.servers import free_port
from rapport.runtime.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def settings_for(tmp_path: Path) -> Settings:
    """A dev server on free ports with its database and ledger under `tmp_path`."""
    return Settings(
        temporal_address=f"127.0.0.1:{free_port()}",
        dev_ui_port=free_port(),
        task_queue=f"ops-{uuid.uuid4()}",
        journeys_dir=tmp_path / "journeys",
        data_dir=tmp_path / "data",
        outbox_path=tmp_path / "data" / "outbox.jsonl",
        worker_graceful_shutdown_seconds=5,
    )


def worker_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment that points `worker.py` at these settings; `extra` adds
    `RAPPORT_*` variables (channels, secrets)."""
    return {
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "JOURNEY_TASK_QUEUE": settings.task_queue,
        "RAPPORT_JOURNEYS_DIR": str(settings.journeys_dir),
        "RAPPORT_DATA_DIR": str(settings.data_dir),
        "RAPPORT_OUTBOX_PATH": str(settings.outbox_path),
        "RAPPORT_LINK_SECRET": "worker-test-secret",
        **extra,
    }


class Workers:
    """Worker processes started by one test; `stop_all` kills whatever still runs."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = {**os.environ, **env}
        self.log = log
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, root: Path = ROOT) -> subprocess.Popen[bytes]:
        """`worker.py` of the checkout at `root` (another build: tests/runtime/test_upgrades)."""
        with self.log.open("ab") as out:
            worker = subprocess.Popen(
                [sys.executable, str(root / "worker.py")],
                cwd=root,
                env=self.env,
                stdout=out,
                stderr=out,
            )
        self.started.append(worker)
        return worker

    def stop_all(self) -> None:
        while self.started:
            worker = self.started.pop()
            if worker.poll() is None:
                worker.kill()
                worker.wait()


def webhook_env(base: str, secret: str, *channels: str) -> dict[str, str]:
    """Route `channels` to the webhook receiver at `base`."""
    routes = {f"RAPPORT_CHANNEL_{c.upper()}": "webhook" for c in channels}
    return {**routes, "RAPPORT_WEBHOOK_URL": f"{base}/hook", "RAPPORT_WEBHOOK_SECRET": secret}


def twilio_env(base: str, sid: str, token: str) -> dict[str, str]:
    """Route SMS to a Twilio-style provider at `base`."""
    return {
        "RAPPORT_CHANNEL_SMS": "twilio",
        "RAPPORT_TWILIO_BASE_URL": base,
        "RAPPORT_TWILIO_ACCOUNT_SID": sid,
        "RAPPORT_TWILIO_AUTH_TOKEN": token,
        "RAPPORT_TWILIO_FROM": "+15550000000",
    }


def smtp_env(port: int) -> dict[str, str]:
    """Route email to a plain SMTP server on loopback."""
    return {
        "RAPPORT_CHANNEL_EMAIL": "smtp",
        "RAPPORT_SMTP_HOST": "127.0.0.1",
        "RAPPORT_SMTP_PORT": str(port),
        "RAPPORT_SMTP_STARTTLS": "false",
        "RAPPORT_SMTP_FROM": "accounts@example.com",
    }
