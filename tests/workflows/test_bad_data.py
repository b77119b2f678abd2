"""Bad data never wedges a journey: what comes in is bounded at every door, and what still
gets in fails that journey clearly, or is skipped with its reason, never retried forever."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from rapport.contract.names import WORKFLOW_TYPE, workflow_id
from rapport.language.account import Account
from rapport.providers.base import Outgoing, Receipt
from rapport.providers.outbox import Capture
from rapport.providers.smtp import build_email
from rapport.runtime.workers import EngineParts, build_worker
from rapport.security.links import LinkSigner
from tests.journey_files import write_journey
from tests.scenarios import ACCOUNT, account, simulate_journey

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
    handle = await raw_start(env, queue, account(customer__timezone="Etc/GMT"))
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
    handle = await raw_start(env, queue, account(customer__timezone="Etc/GMT"), history_limit=100)
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
