"""`python worker.py` killed with SIGKILL in the middle of a delivery, then restarted.

The provider took the message but the worker died before it heard back. The
journey still finishes; the webhook receiver sees the same Idempotency-Key twice
and keeps one message; the SMS provider, which has no idempotency, delivers
twice, and the journey reports it as a possible duplicate.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from rapport.cli.demo import midday_zone
from rapport.contract.names import workflow_id
from rapport.language.account import Account
from tests.fakes import FakeSmsProvider, Hold, WebhookReceiver, serving
from tests.journey_files import write_journey
from tests.scenarios import account
from tests.workers import Workers, settings_for, twilio_env, webhook_env, worker_env
from workflows.journey import DelinquencyJourney
from workflows.state import JourneyInput

pytestmark = pytest.mark.slow  # SIGKILL, then waits out Temporal's activity timeout

ROOT = Path(__file__).resolve().parents[2]

PUSH_THEN_SMS = """\
id: crash
version: 1
name: Push then SMS
steps:
  - {id: push, send: {channel: push, template: nudge}}
  - {id: text, send: {channel: sms, template: nudge}}
"""


async def kill_during(hold: Hold, worker: subprocess.Popen[bytes]) -> None:
    """SIGKILL the worker while the provider holds its request."""
    await asyncio.wait_for(hold.holding.wait(), timeout=30)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    hold.released.set()


async def crash_twice(
    handle: WorkflowHandle[Any, Any],
    receiver: WebhookReceiver,
    provider: FakeSmsProvider,
    workers: Workers,
) -> tuple[Any, Any, str]:
    await kill_during(receiver.hold, workers.start())
    # the dead worker stops heartbeating: Temporal retries on the new one (this waits the
    # heartbeat timeout in real time: the test server does not skip time while an activity
    # is running)
    await kill_during(provider.hold, workers.start())
    last = workers.start()
    result = await handle.result()
    status = await handle.query(DelinquencyJourney.status)
    history = (await handle.fetch_history()).to_json()
    last.send_signal(signal.SIGTERM)
    assert last.wait(timeout=30) == 0  # a graceful stop
    return result, status, history


async def test_sigkill_mid_delivery(env: WorkflowEnvironment, tmp_path: Path) -> None:
    write_journey(tmp_path / "journeys", PUSH_THEN_SMS, {"nudge.push.j2": "{{ balance }} is due"})
    receiver = WebhookReceiver(secret="hook-secret", hold=Hold(1))
    provider = FakeSmsProvider(hold=Hold(1))
    queue = f"crash-{uuid.uuid4()}"
    log = tmp_path / "worker.log"
    async with serving(receiver.app()) as hook_base, serving(provider.app()) as sms_base:
        settings = settings_for(tmp_path).model_copy(
            update={
                "temporal_address": env.client.service_client.config.target_host,
                "task_queue": queue,
            }
        )
        workers = Workers(
            worker_env(
                settings,
                RAPPORT_LINK_SECRET="crash-test-secret",
                RAPPORT_WORKER_MAX_CACHED_WORKFLOWS="0",  # no sticky queue on a dead worker
                **webhook_env(hook_base, "hook-secret", "push"),
                **twilio_env(sms_base, provider.sid, provider.token),
            ),
            log,
        )
        customer = account(consent={"push": True, "sms": True}, customer__timezone=midday_zone())
        handle = await env.client.start_workflow(
            DelinquencyJourney.run,
            JourneyInput(account=Account.model_validate(customer), journey="crash"),
            id=workflow_id("T-1"),
            task_queue=queue,
        )
        try:
            result, status, history = await crash_twice(handle, receiver, provider, workers)
        finally:
            workers.stop_all()
    assert result.outcome == "exhausted", log.read_text()
    assert result.messages_sent == 2, log.read_text()
    # idempotent channel: delivered twice over the wire, one message kept
    assert len(receiver.received) == 2
    assert len(receiver.accepted) == 1
    # no idempotency at the SMS provider: a duplicate, counted and reported
    assert len(provider.messages) == 2
    assert status.possible_duplicates == 1
    # no secret reaches workflow history
    for secret in ("hook-secret", provider.token, "crash-test-secret"):
        assert secret not in history
