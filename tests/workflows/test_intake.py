"""The Temporal contract keeps its promises for starters in any language (issue 27): the
journey publishes its own search attributes and memo, a payload in plain text on a
production worker fails that journey at once with a message saying what to do, a
misspelt signal is refused visibly, refusals name their payment, and the thank-you for a
payment in full waits for the window only (result() closes promptly)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.common import RawValue
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from rapport.cli.demo import midday_zone
from rapport.consent.book import ConsentBook
from rapport.contract import search_attributes as sa
from rapport.contract.names import WORKFLOW_TYPE, workflow_id
from rapport.contract.plain import PLAIN_TEXT_REFUSED
from rapport.providers.outbox import Capture
from rapport.runtime.settings import Settings
from rapport.runtime.temporal import data_converter, plain_data_converter
from rapport.runtime.workers import EngineParts, build_worker
from rapport.security.codec import new_key_line
from rapport.security.links import LinkSigner
from rapport.store.database import Store
from tests.journey_files import write_journey
from tests.scenarios import NOWHERE, account, sent, simulate_journey

THANKS = """\
id: thanks
version: 1
name: A reminder, a long rest, thanks when paid
policy:
  min_gap: 20h
  caps:
    - {channel: all, max: 1, per: 7d}
on_paid:
  send: {channel: email, template: thanks}
steps:
  - {id: reminder, send: {channel: email, template: reminder}}
  - {id: rest, wait: 10d}
  - {id: again, send: {channel: email, template: reminder}}
"""
TEMPLATES: dict[str, str | None] = {
    "thanks.email.j2": "Subject: Thank you\n\nThanks! {{ opt_out }}\n"
}
KEYS = new_key_line("t1")
CUSTOMER = {**account()["customer"], "phone": NOWHERE}  # only its stated zone counts


async def test_the_thank_you_waits_for_the_window_but_not_the_gap_or_the_caps(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Paid an hour after a reminder: thanks at once (no 20 h gap, no cap of one a week),
    so the journey's result is there the same morning."""
    timeline = await simulate_journey(
        env,
        tmp_path,
        THANKS,
        templates=TEMPLATES,
        start="2028-03-01T09:00",
        days=3,
        events=[{"at": "+1h", "type": "payment_received", "amount": "300.00", "payment_id": "P-1"}],
    )
    assert timeline["outcome"] == "paid"
    assert [(step, at[:16]) for step, _, at in sent(timeline)] == [
        ("reminder", "2028-03-01T09:00"),
        ("on_paid", "2028-03-01T10:00"),
    ]


async def test_paid_at_night_the_thank_you_waits_for_the_morning(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    timeline = await simulate_journey(
        env,
        tmp_path,
        THANKS,
        templates=TEMPLATES,
        start="2028-03-01T09:00",
        days=3,
        events=[{"at": "+13h", "type": "payment_received", "amount": "300.00", "payment_id": "P"}],
    )
    step, _, at = sent(timeline)[-1]
    assert step == "on_paid"
    assert at.startswith("2028-03-02T08:0")  # the window's opening (08:00), its spread


# --- starters in any language ----------------------------------------------------------


def thanks_parts(folder: Path, store: Store | None = None) -> EngineParts:
    """A worker's parts: THANKS written to `folder`, sends captured, and (`store`) the
    stops kept in its consent record, as a deployed worker keeps them."""
    write_journey(folder, THANKS, TEMPLATES)
    return EngineParts(
        journeys=[folder],
        channels={"*": Capture()},
        signer=LinkSigner("k"),
        consent=None if store is None else ConsentBook(store),
    )


def client_of(env: WorkflowEnvironment, converter: DataConverter) -> Client:
    """A client of the test server with its own data converter (keys, or none)."""
    return Client(
        env.client.service_client, namespace=env.client.namespace, data_converter=converter
    )


@pytest.fixture
async def queue(env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[str]:
    name = f"intake-{uuid.uuid4()}"
    async with build_worker(env.client, name, thanks_parts(tmp_path)):
        yield name


def start_input(**changes: Any) -> dict[str, Any]:
    return {"account": {**account(), **changes}, "journey": "thanks"}


async def raw_start(client: Client, queue: str, data: Any, account_id: str) -> Any:
    """As the TypeScript client starts one: plain JSON, no search attributes, no memo."""
    return await client.start_workflow(
        WORKFLOW_TYPE, data, id=workflow_id(account_id), task_queue=queue
    )


async def test_a_foreign_start_gets_its_search_attributes_memo_and_summary(
    env: WorkflowEnvironment, queue: str
) -> None:
    account_id = f"F-{uuid.uuid4().hex[:6]}"
    handle = await raw_start(env.client, queue, start_input(account_id=account_id), account_id)
    await handle.query("status")  # the first workflow task has run
    description = await handle.describe()
    attributes = description.typed_search_attributes
    assert attributes.get(sa.ACCOUNT_ID) == account_id
    assert attributes.get(sa.BALANCE_DUE) == 300.0
    assert attributes.get(sa.OUTCOME) == "running"
    assert await description.memo_value("currency") == "USD"


async def test_a_foreign_start_that_is_refused_can_be_found_by_account(
    env: WorkflowEnvironment, queue: str
) -> None:
    account_id = f"B-{uuid.uuid4().hex[:6]}"
    data = {"account": {"account_id": account_id, "balance": "-5"}, "journey": "thanks"}
    handle = await raw_start(env.client, queue, data, account_id)
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    assert "the journey's input is invalid" in str(failed.value.cause)
    description = await handle.describe()
    assert description.typed_search_attributes.get(sa.ACCOUNT_ID) == account_id


def nested(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = {"a": value}
    return value


async def test_a_foreign_start_nested_too_deep_fails_at_once_instead_of_wedging(
    env: WorkflowEnvironment, queue: str
) -> None:
    """Attack review of issue 27: attributes nested 250 levels (JSON any SDK writes) were
    past pydantic's parser (200 levels), so the worker could not decode the input and
    failed the journey's first workflow task forever. Now the journey fails, saying why."""
    account_id = f"N-{uuid.uuid4().hex[:6]}"
    data = start_input(account_id=account_id, attributes={"deep": nested(250)})
    handle = await raw_start(env.client, queue, data, account_id)
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    cause = failed.value.cause
    assert getattr(cause, "type", None) == "InvalidJourneyInput"
    assert "cannot be read as JSON" in str(cause)
    assert "recursion limit" in str(cause)
    await no_failed_task(handle)
    description = await handle.describe()
    assert description.typed_search_attributes.get(sa.ACCOUNT_ID) == account_id


def json_payload(data: bytes, encoding: bytes = b"json/plain") -> RawValue:
    return RawValue(Payload(metadata={"encoding": encoding}, data=data))


UNREADABLE_STARTS = {
    # bytes that are not UTF-8 (a Latin-1 name written by a billing system's old export)
    "latin-1": (json_payload(b'{"account": {"customer": {"first_name": "Ren\xe9"}}}'), "UTF-8"),
    "truncated": (json_payload(b'{"account": {"account_id": "A'), "EOF"),
    "unknown encoding": (json_payload(b"\x08\x01", b"binary/protobuf"), "binary/protobuf"),
    "protobuf without its type": (json_payload(b"{}", b"json/protobuf"), "json/protobuf"),
}


@pytest.mark.parametrize("case", list(UNREADABLE_STARTS))
async def test_a_foreign_start_that_cannot_be_decoded_fails_at_once_saying_why(
    env: WorkflowEnvironment, queue: str, case: str
) -> None:
    """Attack review of issue 27: every start the worker could not decode (not UTF-8, cut
    short, an encoding it does not know) failed the first workflow task forever."""
    payload, why = UNREADABLE_STARTS[case]
    account_id = f"D-{uuid.uuid4().hex[:6]}"
    handle = await raw_start(env.client, queue, payload, account_id)
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    cause = failed.value.cause
    assert getattr(cause, "type", None) == "InvalidJourneyInput"
    assert "cannot be read as JSON" in str(cause)
    assert why in str(cause)
    await no_failed_task(handle)


WRONG_STARTS: dict[str, tuple[Any, str]] = {
    "a string": ("delinquent", "valid dictionary"),
    "a list": ([start_input()], "valid dictionary"),
    "null": (None, "valid dictionary"),
    "a huge name": (
        start_input(customer={**account()["customer"], "first_name": "x" * 1_000_000}),
        "at most 100 characters",
    ),
    "a huge array": (start_input(attributes={"items": list(range(150_000))}), "at most 16384"),
}


@pytest.mark.parametrize("case", list(WRONG_STARTS))
async def test_a_foreign_start_of_the_wrong_shape_or_size_fails_at_once(
    env: WorkflowEnvironment, queue: str, case: str
) -> None:
    data, why = WRONG_STARTS[case]
    account_id = f"W-{uuid.uuid4().hex[:6]}"
    handle = await raw_start(env.client, queue, data, account_id)
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    assert getattr(failed.value.cause, "type", None) == "InvalidJourneyInput"
    assert why in str(failed.value.cause)
    assert len(str(failed.value.cause)) < 2000  # the huge value is not echoed
    await no_failed_task(handle)


async def test_a_foreign_start_without_input_fails_at_once_saying_what_to_send(
    env: WorkflowEnvironment, queue: str
) -> None:
    """`temporal workflow start --type DelinquencyJourney` without --input: the workflow
    was instantiated without its argument (a TypeError), failing every task."""
    account_id = f"E-{uuid.uuid4().hex[:6]}"
    handle = await env.client.start_workflow(
        WORKFLOW_TYPE, id=workflow_id(account_id), task_queue=queue
    )
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    assert "started without input" in str(failed.value.cause)
    await no_failed_task(handle)


async def test_a_signal_that_cannot_be_decoded_is_refused_where_status_shows_it(
    env: WorkflowEnvironment, queue: str
) -> None:
    """Such a signal was dropped by the SDK with only a line in the worker's log: billing
    thought the payment was reported. Now `status.refused` says why."""
    account_id = f"G-{uuid.uuid4().hex[:6]}"
    handle = await raw_start(env.client, queue, start_input(account_id=account_id), account_id)
    await handle.signal("account_updated", {"attributes": nested(250)})
    await handle.signal(
        "payment_received", json_payload(b'{"amount": "5.00", "payment_id": "\xff"}')
    )
    status = await handle.query("status")
    refused = {r["event"]: r["error"] for r in status["refused"]}
    assert "recursion limit" in refused["account_updated"]
    assert "UTF-8" in refused["payment_received"]
    assert status["outcome"] is None or status["outcome"] == "running"
    await no_failed_task(handle)


async def test_a_misspelt_signal_is_refused_where_status_shows_it(
    env: WorkflowEnvironment, queue: str
) -> None:
    account_id = f"S-{uuid.uuid4().hex[:6]}"
    handle = await raw_start(env.client, queue, start_input(account_id=account_id), account_id)
    await handle.signal("payment_recieved", {"amount": "5.00", "payment_id": "P-9"})
    await handle.signal("payment_received", {"amount": "-5.00", "payment_id": "P-10"})
    status = await handle.query("status")
    refused = {r["event"]: r for r in status["refused"]}
    assert "unknown signal" in refused["payment_recieved"]["error"]
    assert "payment_received" in refused["payment_recieved"]["error"]  # the names there are
    assert refused["payment_received"]["payment_id"] == "P-10"
    assert "greater than zero" in refused["payment_received"]["error"]


async def test_bad_updates_and_queries_are_answered_in_plain_words(
    env: WorkflowEnvironment, queue: str
) -> None:
    account_id = f"U-{uuid.uuid4().hex[:6]}"
    handle: WorkflowHandle[Any, Any] = await raw_start(
        env.client, queue, start_input(account_id=account_id), account_id
    )
    with pytest.raises(WorkflowUpdateFailedError) as bad:
        await handle.execute_update("accept_plan", {"installments": "three"})
    message = str(bad.value.cause)
    assert "installments" in message
    assert "pydantic" not in message  # no link to a library's docs
    with pytest.raises(WorkflowUpdateFailedError) as two:
        await handle.execute_update("accept_plan", args=[{"installments": 3}, {}])
    assert "sent with 2 arguments" in str(two.value.cause)  # not a TypeError's words
    with pytest.raises(WorkflowQueryFailedError) as unknown:
        await handle.query("statuss")
    assert "unknown query 'statuss'" in str(unknown.value)
    assert "status" in str(unknown.value)


# --- plain text where keys are in force --------------------------------------------------


@pytest.fixture
async def production(
    env: WorkflowEnvironment, tmp_path: Path, sqlite_store: Store
) -> AsyncIterator[tuple[str, Client]]:
    """A production worker with encryption keys (its own client's converter), and a
    client that sends plain text as another language's SDK without the codec would."""
    settings = Settings(environment="production", encryption_keys=KEYS)
    worker_client = client_of(env, data_converter(settings, worker=True))
    name = f"prod-{uuid.uuid4()}"
    async with build_worker(worker_client, name, thanks_parts(tmp_path, sqlite_store)):
        yield name, client_of(env, plain_data_converter())


def encrypting(env: WorkflowEnvironment) -> Client:
    return client_of(env, data_converter(Settings(encryption_keys=KEYS)))


async def no_failed_task(handle: WorkflowHandle[Any, Any]) -> None:
    """No task failed on the journey's account (an event that arrived while the journey
    was failing makes Temporal ask for the task again: its protocol, not a wedge)."""
    history = await handle.fetch_history()
    failed = [
        e.workflow_task_failed_event_attributes.cause
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    ]
    assert set(failed) <= {WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND}


async def test_in_production_a_plain_start_fails_at_once_saying_what_to_do(
    env: WorkflowEnvironment, production: tuple[str, Client]
) -> None:
    queue, plain = production
    account_id = f"P-{uuid.uuid4().hex[:6]}"
    handle = await raw_start(plain, queue, start_input(account_id=account_id), account_id)
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()  # read without the codec: the message is readable
    cause = failed.value.cause
    assert getattr(cause, "type", None) == PLAIN_TEXT_REFUSED
    message = str(cause)
    assert "arrived in plain text" in message
    assert "/codec/encode" in message  # how to send it encrypted
    assert "POST /v1/journeys" in message
    assert f"temporal workflow delete --workflow-id {workflow_id(account_id)}" in message
    assert "Robin" not in message  # the failure itself holds no customer data
    await no_failed_task(handle)
    description = await handle.describe()
    assert description.typed_search_attributes.get(sa.ACCOUNT_ID) == account_id


async def test_in_production_a_plain_signal_fails_the_journey_and_an_opt_out_in_it_holds(
    env: WorkflowEnvironment, production: tuple[str, Client], sqlite_store: Store
) -> None:
    queue, plain = production
    account_id = f"Q-{uuid.uuid4().hex[:6]}"
    client = encrypting(env)
    handle = await client.start_workflow(
        WORKFLOW_TYPE,
        start_input(account_id=account_id),
        id=workflow_id(account_id),
        task_queue=queue,
    )
    await handle.query("status")
    await plain.get_workflow_handle(handle.id).signal("opt_out", {"channel": "email"})
    with pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    assert "signal opt_out arrived in plain text" in str(failed.value.cause)
    await no_failed_task(handle)
    # the customer's word was kept before the journey failed: the next journey holds it
    entries = ConsentBook(sqlite_store).entries(account_id)
    assert [(e.action, e.channel) for e in entries] == [("opt_out", "email")]


def development(env: WorkflowEnvironment) -> tuple[Client, Client]:
    """A development worker's client with keys (it takes plain text with a warning), and a
    client without the codec, as the temporal CLI or another language's SDK."""
    settings = Settings(environment="development", encryption_keys=KEYS)
    worker = client_of(env, data_converter(settings, worker=True))
    return worker, client_of(env, plain_data_converter())


async def test_in_development_plain_text_is_taken_with_a_warning(
    env: WorkflowEnvironment, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    worker_client, plain = development(env)
    queue = f"dev-{uuid.uuid4()}"
    account_id = f"D-{uuid.uuid4().hex[:6]}"
    async with build_worker(worker_client, queue, thanks_parts(tmp_path)):
        handle = await raw_start(plain, queue, start_input(account_id=account_id), account_id)
        await env.sleep(timedelta(hours=1))
        status = await worker_client.get_workflow_handle(handle.id).query("status")
        assert status["account_id"] == account_id
    assert "a payload arrived in plain text" in caplog.text


async def test_a_signal_name_cannot_forge_a_log_line(
    env: WorkflowEnvironment, queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Attack review of issue 27: a misspelt signal's name is logged, and any sender picks
    it: one with a line break wrote a second, forged line into the worker's plain log
    ("... INFO rapport: journey ended outcome=paid"). The line keeps it escaped."""
    from rapport.runtime.logs import PlainFormatter

    account_id = f"L-{uuid.uuid4().hex[:6]}"
    handle = await raw_start(env.client, queue, start_input(account_id=account_id), account_id)
    forged = "x\n2028-03-01 09:00:00,000 INFO rapport: journey ended outcome=paid"
    with caplog.at_level("WARNING"):
        await handle.signal(forged, {})
        await handle.query("status")
    lines = [PlainFormatter().format(r) for r in caplog.records if "unknown signal" in r.message]
    assert lines
    assert all("\n" not in line and "\\x0a2028" in line for line in lines)


TWO_ARGUMENTS = "started with 2 arguments: send the account and the journey's id as its one"


async def failed_at_once(handle: WorkflowHandle[Any, Any], account_id: str) -> str:
    """The journey failed (not a task, again and again), saying why; found by account."""
    with pytest.raises(WorkflowFailureError) as failed:
        await asyncio.wait_for(handle.result(), 30)  # a wedged journey never ends
    await no_failed_task(handle)
    description = await handle.describe()
    assert description.typed_search_attributes.get(sa.ACCOUNT_ID) == account_id
    return f"{getattr(failed.value.cause, 'type', None)}: {failed.value.cause}"


async def test_a_foreign_start_with_two_arguments_fails_at_once(
    env: WorkflowEnvironment, queue: str
) -> None:
    """Attack review of issue 27: `args: [account, extra]` from another SDK (or --input
    given twice to the temporal CLI) failed the first workflow task forever (the SDK
    called the workflow with both: a TypeError)."""
    account_id = f"A2-{uuid.uuid4().hex[:6]}"
    handle = await env.client.start_workflow(
        WORKFLOW_TYPE,
        args=[start_input(account_id=account_id), {"extra": 1}],
        id=workflow_id(account_id),
        task_queue=queue,
    )
    why = await failed_at_once(handle, account_id)
    assert why.startswith("InvalidJourneyInput: ")
    assert TWO_ARGUMENTS in why
    assert "docs/billing-integration.md" in why


async def test_a_foreign_start_whose_second_argument_cannot_be_decoded_fails_at_once(
    env: WorkflowEnvironment, queue: str
) -> None:
    """The SDK decodes extra arguments itself (no hints): one it cannot decode failed the
    task with "Failed decoding arguments", every retry."""
    account_id = f"A3-{uuid.uuid4().hex[:6]}"
    handle = await env.client.start_workflow(
        WORKFLOW_TYPE,
        args=[start_input(account_id=account_id), json_payload(b"\x08\x01", b"binary/protobuf")],
        id=workflow_id(account_id),
        task_queue=queue,
    )
    assert TWO_ARGUMENTS in await failed_at_once(handle, account_id)


async def test_a_foreign_start_with_three_arguments_none_readable_fails_at_once(
    env: WorkflowEnvironment, queue: str
) -> None:
    account_id = f"A4-{uuid.uuid4().hex[:6]}"
    unreadable = [p for p, _ in UNREADABLE_STARTS.values()][:3]
    handle = await env.client.start_workflow(
        WORKFLOW_TYPE, args=unreadable, id=workflow_id(account_id), task_queue=queue
    )
    assert "started with 3 arguments" in await failed_at_once(handle, account_id)


async def test_a_signal_with_more_than_one_argument_is_refused_where_status_shows_it(
    env: WorkflowEnvironment, queue: str
) -> None:
    """Sent with two arguments, a signal failed the workflow task on every retry (the SDK
    called its handler with both: a TypeError), wedging the journey; one whose second
    argument the SDK could not decode was dropped unseen. Now each is refused, naming
    its payment, and the journey goes on."""
    account_id = f"A5-{uuid.uuid4().hex[:6]}"
    handle = await raw_start(env.client, queue, start_input(account_id=account_id), account_id)
    payment = {"amount": "300.00", "payment_id": "P-2"}
    await handle.signal("payment_received", args=[payment, {"extra": 1}])
    await handle.signal("payment_received", args=[{**payment, "payment_id": "P-3"}, UNDECODABLE])
    await handle.signal("migrate_to", args=[{"version": 2}, {}, {}])
    status = await handle.query("status")
    refused = [(r["event"], r["payment_id"], r["error"]) for r in status["refused"]]
    assert [r[:2] for r in refused] == [
        ("payment_received", "P-2"),
        ("payment_received", "P-3"),
        ("migrate_to", None),
    ]
    assert all("arguments: send the payload as its one argument" in e for *_, e in refused)
    assert "with 3 arguments" in refused[2][2]
    assert status["balance"] == "300.00"  # neither payment was taken
    await no_failed_task(handle)
    await handle.signal("payment_received", payment)  # one argument: taken as before
    assert (await handle.query("status"))["outcome"] == "paid"


def test_the_sdk_sees_one_raw_argument_for_the_start_and_every_signal() -> None:
    """What keeps a single argument undecoded (`read` decodes it, so one the SDK cannot
    decode fails the journey instead of a task): `*extra` hidden from the signature
    (`one_argument`). Without it the SDK would see no hints at all (a parameter that is
    not positional) and decode every start and signal itself."""
    from temporalio.workflow import _Definition

    from workflows.journey import DelinquencyJourney

    definition = _Definition.must_from_class(DelinquencyJourney)
    assert definition.arg_types == [RawValue]
    assert all(s.arg_types == [RawValue] for n, s in definition.signals.items() if n)
    assert definition.updates["accept_plan"].arg_types == [Any]


UNDECODABLE = json_payload(b"\x08\x01", b"binary/protobuf")


async def test_in_production_a_start_with_two_arguments_fails_at_once(
    env: WorkflowEnvironment, production: tuple[str, Client]
) -> None:
    """Encrypted (the codec decrypts both before the SDK decodes them) or in plain text
    (refused as such: it says how to delete what was sent in clear)."""
    queue, plain = production
    for client, expected in ((encrypting(env), TWO_ARGUMENTS), (plain, "arrived in plain text")):
        account_id = f"A6-{uuid.uuid4().hex[:6]}"
        handle = await client.start_workflow(
            WORKFLOW_TYPE,
            args=[start_input(account_id=account_id), {"extra": 1}],
            id=workflow_id(account_id),
            task_queue=queue,
        )
        assert expected in await failed_at_once(handle, account_id)


async def test_in_production_a_plain_stop_with_two_arguments_holds_and_fails_the_journey(
    env: WorkflowEnvironment, production: tuple[str, Client], sqlite_store: Store
) -> None:
    """Review of issue 27: such an opt-out was refused for its arguments and not taken,
    while one plain-text argument was taken first: the customer's word was lost. Now it
    is taken from the first argument and kept, then the journey fails for plain text."""
    queue, plain = production
    account_id = f"A7-{uuid.uuid4().hex[:6]}"
    handle = await encrypting(env).start_workflow(
        WORKFLOW_TYPE,
        start_input(account_id=account_id),
        id=workflow_id(account_id),
        task_queue=queue,
    )
    await handle.query("status")
    await plain.get_workflow_handle(handle.id).signal("opt_out", args=[{"channel": "email"}, {}])
    assert "signal opt_out arrived in plain text" in await failed_at_once(handle, account_id)
    entries = ConsentBook(sqlite_store).entries(account_id)
    assert [(e.action, e.channel) for e in entries] == [("opt_out", "email")]


@pytest.fixture
async def consenting(
    env: WorkflowEnvironment, tmp_path: Path, sqlite_store: Store
) -> AsyncIterator[str]:
    """A worker that keeps stops in a consent record, as a deployed one does."""
    name = f"consent-{uuid.uuid4()}"
    async with build_worker(env.client, name, thanks_parts(tmp_path, sqlite_store)):
        yield name


async def reminded(env: WorkflowEnvironment, queue: str, account_id: str) -> Any:
    """A raw start where it is midday, once its first reminder went: a stop that races a
    send in flight is another test's (test_stops_in_flight.py). (On the time-skipping
    server, a stop that calls off a send as it completes leaves the workflow task open
    until it times out: 20 s.)"""
    data = start_input(account_id=account_id, customer={**CUSTOMER, "timezone": midday_zone()})
    handle = await raw_start(env.client, queue, data, account_id)
    for _ in range(100):
        if (await handle.query("status"))["messages_sent"]:
            return handle
        await asyncio.sleep(0.02)
    raise AssertionError("the first reminder did not go")


async def test_a_stop_with_more_than_one_argument_is_taken_from_the_first(
    env: WorkflowEnvironment, consenting: str, sqlite_store: Store
) -> None:
    """Review of issue 27: an opt-out or a cease sent with two arguments was refused and
    not taken, so the customer's word was lost (the next journey would write to them).
    Now the stop is read from its first argument and written to the consent record, as a
    one-argument raw stop is, and `status.refused` says the rest were ignored. One whose
    first argument cannot be read is refused, as any such signal."""
    account_id = f"A8-{uuid.uuid4().hex[:6]}"
    handle = await reminded(env, consenting, account_id)
    await handle.signal("opt_out", args=[{"channel": "email"}, {"extra": 1}, {}])
    await handle.signal("opt_out", args=[UNDECODABLE, {"channel": "sms"}])
    status = await handle.query("status")
    assert status["suppressed_channels"] == ["email"]
    refused = [(r["event"], r["error"]) for r in status["refused"]]
    assert refused[0] == (
        "opt_out",
        "sent with 3 arguments: the opt_out was read from the first, the other 2 ignored; "
        "send the payload as its one argument (docs/billing-integration.md)",
    )
    assert refused[1][0] == "opt_out"
    assert "sent with 2 arguments: send the payload as its one argument" in refused[1][1]
    await handle.signal("cease_communication", args=[{"reason": "asked"}, UNDECODABLE])
    assert (await handle.result())["outcome"] == "ceased"
    status = await handle.query("status")
    assert [r["event"] for r in status["refused"]] == ["opt_out", "opt_out", "cease_communication"]
    assert "the cease_communication was read from the first" in status["refused"][2]["error"]
    await no_failed_task(handle)
    # the customer's word holds for the next journey: the consent record has it
    entries = ConsentBook(sqlite_store).entries(account_id)
    assert [(e.action, e.channel) for e in entries] == [("opt_out", "email"), ("cease", "all")]


async def test_a_stop_whose_first_argument_is_invalid_is_refused_saying_why(
    env: WorkflowEnvironment, consenting: str, sqlite_store: Store
) -> None:
    account_id = f"A9-{uuid.uuid4().hex[:6]}"
    handle = await reminded(env, consenting, account_id)
    await handle.signal("opt_out", args=[{"channel": "pigeon"}, {}])
    status = await handle.query("status")
    assert status["suppressed_channels"] == []
    errors = [r["error"] for r in status["refused"]]
    assert "the other 1 ignored" in errors[0]
    assert errors[1].startswith("channel: ")  # what is wrong with the first, as for one
    assert ConsentBook(sqlite_store).entries(account_id) == []
    await no_failed_task(handle)


# --- a start naming a journey the worker does not have ----------------------------------

GB_ONLY = THANKS.replace("id: thanks", "id: thanks-gb\ncountries: [GB]")


@pytest.mark.parametrize("journey", ["nope", "thanks-gb"])
async def test_a_start_naming_no_journey_there_fails_readable_without_the_codec(
    env: WorkflowEnvironment, production: tuple[str, Client], tmp_path: Path, journey: str
) -> None:
    """Review of issue 27: a start naming a journey the worker's folder does not have
    failed as "Encoded failure" (the activity's failure, encrypted), although refused
    starts promise a message readable without the codec. Now it fails as the other
    refused starts, naming the field, the journey asked for and the ids there are, never
    the account's country or any customer data (one for accounts elsewhere too)."""
    write_journey(tmp_path, GB_ONLY, TEMPLATES, name="gb.yaml")
    queue, plain = production
    account_id = f"J-{uuid.uuid4().hex[:6]}"
    handle = await encrypting(env).start_workflow(
        WORKFLOW_TYPE,
        {"account": account(account_id=account_id), "journey": journey},
        id=workflow_id(account_id),
        task_queue=queue,
    )
    why = await failed_at_once(plain.get_workflow_handle(handle.id), account_id)
    assert why.startswith("InvalidJourneyInput: ")
    assert "the journey's input is invalid: journey: " in why
    if journey == "nope":
        assert why.endswith("no journey has id 'nope'; journeys: thanks, thanks-gb")
    else:
        assert why.endswith(
            "journey 'thanks-gb' is for accounts in GB, not in the account's country "
            "(add it to the journey's countries)"
        )
    for private in ("Robin", "robin@example.com", "US", "New_York", "Encoded"):
        assert private not in why


async def test_in_development_a_plain_start_naming_no_journey_there_fails_readable(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """The temporal CLI without the codec, on a development worker with keys (which takes
    plain text with a warning): the failure is read as plainly as it was sent."""
    worker_client, plain = development(env)
    queue = f"dev-{uuid.uuid4()}"
    account_id = f"K-{uuid.uuid4().hex[:6]}"
    async with build_worker(worker_client, queue, thanks_parts(tmp_path)):
        data = {"account": account(account_id=account_id), "journey": "thanks-typo"}
        handle = await raw_start(plain, queue, data, account_id)
        why = await failed_at_once(handle, account_id)
    assert why.startswith("InvalidJourneyInput: ")
    assert why.endswith(
        "the journey's input is invalid: journey: no journey has id 'thanks-typo'; journeys: thanks"
    )
