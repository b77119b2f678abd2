"""Bad data never wedges a journey: what comes in is bounded at every door, and what still
gets in fails that journey clearly, or is skipped with its reason, never retried forever."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.common import RetryPolicy
from temporalio.testing import WorkflowEnvironment

from rapport.cli.demo import midday_zone
from rapport.contract.names import WORKFLOW_TYPE, workflow_id
from rapport.language.account import Account
from rapport.providers.base import Outgoing, Receipt
from rapport.providers.outbox import Capture
from rapport.providers.smtp import build_email
from rapport.runtime.servers import start_local
from rapport.runtime.workers import EngineParts, build_worker
from rapport.security.links import LinkSigner
from tests.journey_files import write_journey
from tests.scenarios import ACCOUNT, account, simulate_journey
from workflows.core import CARRIED_FROM, _continued_by_us
from workflows.delivery import JourneyDelivery
from workflows.state import JourneyState

ONE_TEXT = """\
id: bad
version: 1
name: One text, a long wait, one email
steps:
  - {id: nudge, send: {channel: sms, template: nudge}}
  - {id: pause, wait: 30d}
  - {id: mail, send: {channel: email, template: reminder}}
"""


@pytest.fixture
async def queue(env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[str]:
    write_journey(tmp_path, ONE_TEXT)
    name = f"bad-{uuid.uuid4()}"
    parts = EngineParts(journeys=[tmp_path], channels={"*": Capture()}, signer=LinkSigner("k"))
    async with build_worker(env.client, name, parts):
        yield name


async def raw_start(
    env: WorkflowEnvironment, queue: str, data: dict[str, Any], **fields: Any
) -> WorkflowHandle[Any, Any]:
    """Start as a billing system in another language would: plain JSON, no checks."""
    return await env.client.start_workflow(
        WORKFLOW_TYPE,
        {"account": data, "journey": "bad", **fields},
        id=workflow_id(str(data.get("account_id", "X"))),
        task_queue=queue,
    )


async def failure_of(handle: WorkflowHandle[Any, Any]) -> str:
    with pytest.raises(WorkflowFailureError) as raised:
        await handle.result()
    history = await handle.fetch_history()
    failed_tasks = [
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    ]
    assert failed_tasks == []  # failed at once, clearly: never a task retried forever
    return str(raised.value.cause)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"days_past_due": 10**19}, "days_past_due"),
        ({"balance": "1E+27"}, "balance"),
        ({"balance": "12.345"}, "balance"),  # more places than USD has
        ({"customer": {**ACCOUNT["customer"], "timezone": "Mars/Olympus"}}, "customer.timezone"),
        ({"attributes": {"blob": "x" * 1_000_000}}, "attributes"),
        (
            {"customer": {**ACCOUNT["customer"], "first_name": "Dana\r\nBcc: x@evil.example"}},
            "customer.first_name",
        ),
    ],
)
async def test_a_bad_start_from_another_language_fails_that_journey_clearly(
    env: WorkflowEnvironment, queue: str, change: dict[str, Any], field: str
) -> None:
    message = await failure_of(await raw_start(env, queue, {**account(), **change}))
    assert "the journey's input is invalid" in message
    assert field in message
    assert "Dana" not in message  # the failure, kept in history, carries no customer data


async def test_carried_state_from_a_start_is_refused(env: WorkflowEnvironment, queue: str) -> None:
    handle = await raw_start(env, queue, account(), carried={"paid": True, "position": 99})
    assert "`carried` is set only by the engine" in await failure_of(handle)


async def test_a_signal_that_does_not_fit_is_refused_visibly(
    env: WorkflowEnvironment, queue: str
) -> None:
    handle = await raw_start(env, queue, account(customer__timezone=midday_zone()))
    await env.sleep(timedelta(days=1))
    bad: list[tuple[str, Any]] = [
        ("payment_received", {"amount": "1e309", "payment_id": "P-1"}),
        ("payment_received", {"amount": 50.0, "payment_id": "P-2"}),  # a float
        ("payment_received", {"amount": "50.00", "payment_id": "P-3", "note": "x"}),
        ("payment_received", {"amount": "50.00"}),  # no payment id
        ("payment_received", {"amount": "5.001", "payment_id": "P-4"}),  # USD has 2 places
        ("payment_received", {"amount": "5.00", "payment_id": "P-5", "currency": "EUR"}),
        ("opt_out", {"channel": "fax"}),
        ("engagement", None),
    ]
    for name, payload in bad:
        await handle.signal(name, json.loads(json.dumps(payload)))
    status = await handle.query("status")
    assert status["balance"] == "300.00"
    assert len(status["refused"]) == len(bad)
    errors = " | ".join(r["error"] for r in status["refused"])
    for expected in (
        "at most 12 digits",
        "never a float",
        "Extra inputs",
        "payment_id",
        "more decimal places than USD",
        "is in EUR",
        "'fax' is not allowed",
        "a payload is required",
    ):
        assert expected in errors
    await handle.signal("cease_communication")
    await handle.result()


class Exploding:
    """A provider with a bug: the same error every time."""

    idempotent = True

    def __init__(self) -> None:
        self.calls = 0

    async def deliver(self, item: Outgoing) -> Receipt:
        self.calls += 1
        raise KeyError("locale")


async def test_an_unexpected_error_skips_the_step_with_its_reason(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    exploding = Exploding()
    timeline = await simulate_journey(
        env, tmp_path, ONE_TEXT.replace("30d", "1d"), days=3, channels={"sms": exploding}
    )
    assert exploding.calls == 1  # not retried all day, every day
    assert [(s["step"], s["reason"]) for s in timeline["skipped"]] == [("nudge", "undeliverable")]
    assert "KeyError" in timeline["skipped"][0]["detail"]
    assert [m["step"] for m in timeline["messages"]] == ["mail"]  # the journey went on


async def test_a_long_wait_full_of_signals_continues_as_new(
    env: WorkflowEnvironment, queue: str
) -> None:
    handle = await raw_start(
        env, queue, account(customer__timezone=midday_zone()), history_limit=100
    )
    await env.sleep(timedelta(days=1))
    for _ in range(60):  # each signal adds history while the journey waits
        await handle.signal("engagement", {"kind": "opened"})
    result = await handle.result()
    description = await handle.describe()
    assert description.run_id != handle.first_execution_run_id  # it continued as new
    assert result["outcome"] == "exhausted"
    assert result["messages_sent"] == 2


def test_a_header_cannot_be_injected_through_a_subject() -> None:
    item = Outgoing(
        key="k",
        kind="message",
        channel="email",
        account_id="A-1",
        to="dana@example.com",
        at="",
        subject="Hi\r\nBcc: x@evil.example",
        body="b",
        step="s",
        template="t",
    )
    message = build_email(item, "Accounts <a@example.com>")
    assert message["Bcc"] is None
    assert message["Subject"] == "Hi Bcc: x@evil.example"
    with pytest.raises(ValueError, match="last_name"):
        Account.model_validate(account(customer__last_name="Lee\nBcc: x@evil.example"))


@pytest.mark.slow
async def test_status_of_a_failed_or_terminated_journey_says_why_in_one_line(
    env: WorkflowEnvironment, queue: str
) -> None:
    failed = await raw_start(env, queue, {**account(account_id="F-1"), "balance": "12.345"})
    with pytest.raises(WorkflowFailureError):
        await failed.result()
    stopped = await raw_start(env, queue, account(account_id="X-1"))
    await stopped.terminate(reason="operator: started for the wrong account")
    cli_env = {
        **os.environ,
        "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "JOURNEY_TASK_QUEUE": queue,
    }
    shown = {
        account_id: await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "rapport.cli", "status", account_id],
            env=cli_env,
            capture_output=True,
            text=True,
            check=False,
        )
        for account_id in ("F-1", "X-1")
    }
    for result in shown.values():
        assert result.returncode == 0, result.stderr
        assert len(result.stdout.strip().splitlines()) == 1
        assert "Traceback" not in result.stdout + result.stderr
        assert "Encoded failure" not in result.stdout
    assert "journey failed: the journey's input is invalid" in shown["F-1"].stdout
    assert "more decimal places than USD" in shown["F-1"].stdout
    assert (
        shown["X-1"].stdout.strip()
        == "account X-1: journey terminated: operator: started for the wrong account"
    )


@pytest.mark.parametrize(
    ("continued_from", "cron", "attempt", "carried", "trusted"),
    [
        ("run-1", None, 1, {"paid": True, CARRIED_FROM: "run-1"}, True),  # our continue-as-new
        ("run-1", "0 * * * *", 1, {"paid": True, CARRIED_FROM: "run-1"}, True),
        ("run-1", "0 * * * *", 1, {"paid": True}, False),  # a cron's run: the start's input
        ("run-1", "0 * * * *", 1, None, False),
        ("run-2", None, 1, {"paid": True, CARRIED_FROM: "run-1"}, False),  # not from that run
        (None, None, 1, {"paid": True, CARRIED_FROM: "run-1"}, False),  # a start
        ("run-1", None, 1, {"paid": True}, True),  # continued by the release before the marker
        ("run-1", None, 2, {"paid": True}, False),  # a retry: the start's input
        ("run-2", None, 2, {"paid": True, CARRIED_FROM: "run-1"}, False),
    ],
)
def test_carried_state_is_trusted_only_from_the_run_that_continued(
    continued_from: str | None, cron: str | None, attempt: int, carried: Any, trusted: bool
) -> None:
    """Temporal sets continued_run_id on a cron's later runs and a workflow's retries too
    (the time-skipping test server runs neither, so this checks the rule the workflow
    applies; a retry on the dev server: below)."""
    info = SimpleNamespace(continued_run_id=continued_from, cron_schedule=cron, attempt=attempt)
    raw = {"account": account(), "carried": carried}
    assert _continued_by_us(raw, info) is trusted  # type: ignore[arg-type]


@pytest.mark.slow
async def test_a_validation_error_from_our_own_code_fails_the_task_and_a_fix_heals_it(
    env: WorkflowEnvironment, queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug of ours (here a model our code fills wrongly) must not fail the customer's
    journey for good: the workflow task fails and is retried until a deploy fixes it."""
    fixed = asyncio.Event()
    original = JourneyDelivery._fields

    def buggy(self: JourneyDelivery, file: str) -> dict[str, Any]:
        if not fixed.is_set():
            Account.model_validate({"account_id": ""})  # raises pydantic's ValidationError
        return original(self, file)

    monkeypatch.setattr(JourneyDelivery, "_fields", buggy)
    handle = await raw_start(env, queue, account(customer__timezone=midday_zone()))
    for _ in range(100):  # real time: the first task fails at once
        history = await handle.fetch_history()
        failed = [
            e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
        ]
        if failed:
            break
        await asyncio.sleep(0.1)
    assert failed, "the bug should fail the workflow task"
    failure = failed[0].workflow_task_failed_event_attributes.failure
    assert failure.application_failure_info.type == "ValidationError"
    description = await handle.describe()
    assert description.status is not None
    assert description.status.name == "RUNNING"  # the journey itself did not fail
    fixed.set()  # the deploy with the fix
    result = await handle.result()
    assert result["messages_sent"] == 2


@pytest.mark.slow  # the dev server (the time-skipping one retries no workflow), real time
async def test_a_retried_start_does_not_trust_the_state_its_input_carries(
    tmp_path: Path,
) -> None:
    """Temporal sets continued_run_id on a workflow's retry too, whose input is the
    start's. A start with a retry policy and a `carried` state of its own choosing
    (paid, nothing owed), whose first run timed out before a worker took it, was trusted
    on its retry and ended paid with no payment. A retry is refused as the start was."""
    write_journey(tmp_path, ONE_TEXT)
    queue = f"retried-{uuid.uuid4()}"
    who = Account.model_validate(account(account_id="R-9"))
    forged = JourneyState(
        account=who, balance=Decimal(0), started_at=datetime.now(UTC), paid=True, outcome="paid"
    ).model_dump(mode="json")
    server = await start_local()
    try:
        handle = await server.client.start_workflow(
            WORKFLOW_TYPE,
            {"account": account(account_id="R-9"), "journey": "bad", "carried": forged},
            id=workflow_id("R-9"),
            task_queue=queue,
            run_timeout=timedelta(seconds=2),
            retry_policy=RetryPolicy(maximum_attempts=2, initial_interval=timedelta(seconds=1)),
        )
        await asyncio.sleep(2.2)  # no worker yet: the first run times out, the retry waits
        parts = EngineParts(journeys=[tmp_path], channels={"*": Capture()}, signer=LinkSigner("k"))
        async with build_worker(server.client, queue, parts):
            with pytest.raises(WorkflowFailureError) as raised:
                await handle.result()
            retried = await server.client.get_workflow_handle(handle.id).describe()
    finally:
        await server.shutdown()
    assert retried.run_id != handle.result_run_id  # the retry ran
    assert "`carried` is set only by the engine" in str(raised.value.cause)
