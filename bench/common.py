"""What the benchmarks share: a dev server in a temporary folder, the benchmark journey
(three texts and two one-second waits: the language's smallest unit is a minute, so
it is built in Python), starting journeys as a billing system would, and reading a
history's cost (events, billable actions, bytes)."""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from rapport.catalog.pinned import PinnedJourney
from rapport.cli.demo import midday_zone
from rapport.client.journeys import starting_attributes
from rapport.contract.names import workflow_id
from rapport.language.account import Account, Customer
from rapport.language.models import JourneyDefinition
from rapport.language.templates import TemplateBundle
from rapport.providers.outbox import Capture
from rapport.runtime.servers import start_local
from rapport.runtime.workers import EngineParts
from rapport.security.links import LinkSigner
from workflows.journey import DelinquencyJourney
from workflows.state import JourneyInput

TEMPLATE = "Hi {{ customer.first_name }}, {{ balance }} is due: {{ links.pay_now }} {{ opt_out }}"
E = EventType
# What Temporal Cloud bills as actions: a start, each activity attempt, a timer, a signal,
# an update, a search-attribute upsert, a marker (local activities, patches), a
# continue-as-new.
ACTION_EVENTS = {
    E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
    E.EVENT_TYPE_ACTIVITY_TASK_STARTED,
    E.EVENT_TYPE_TIMER_STARTED,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
    E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
    E.EVENT_TYPE_MARKER_RECORDED,
    E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
}


def bench_definition(
    sends: int = 3,
    waits: int = 2,
    wait: timedelta = timedelta(seconds=1),
    first_wait: timedelta | None = None,
) -> JourneyDefinition:
    steps: list[dict[str, Any]] = []
    if first_wait is not None:
        steps.append({"id": "hold", "wait": first_wait})
    for i in range(max(sends, waits)):
        if i < sends:
            steps.append({"id": f"send{i}", "send": {"channel": "sms", "template": "note"}})
        if i < waits:
            steps.append({"id": f"wait{i}", "wait": wait})
    return JourneyDefinition.model_validate(
        {"id": "bench", "version": 1, "name": "Benchmark", "steps": steps}
    )


@dataclass(frozen=True)
class OneJourney:
    """Every account gets this journey (a definition built in Python)."""

    journey: PinnedJourney

    def choose(self, journey_id: str | None, account: Account) -> PinnedJourney:
        return self.journey


def pinned(definition: JourneyDefinition) -> PinnedJourney:
    return PinnedJourney.of(definition, TemplateBundle({"note.sms.j2": TEMPLATE}), "bench")


def bench_parts(definition: JourneyDefinition) -> EngineParts:
    return EngineParts(
        journeys=[],
        channels={"*": Capture()},
        signer=LinkSigner("bench"),
        library=OneJourney(pinned(definition)),
    )


def account(account_id: str) -> Account:
    return Account(
        account_id=account_id,
        balance=Decimal("120.00"),
        currency="USD",
        days_past_due=5,
        consent={"sms": True},
        customer=Customer(first_name="Bea", phone="+15555550100", timezone=midday_zone()),
    )


async def start_journey(
    client: Client, queue: str, account_id: str, journey: str = "bench"
) -> WorkflowHandle[Any, Any]:
    """As a billing system starts one (the Python client's way: search attributes set
    by the start itself)."""
    who = account(account_id)
    return await client.start_workflow(
        DelinquencyJourney.run,
        JourneyInput(account=who, journey=journey),
        id=workflow_id(account_id),
        task_queue=queue,
        search_attributes=starting_attributes(who, journey),
    )


@dataclass(frozen=True)
class HistoryCost:
    events: int
    actions: int
    bytes: int
    messages: int

    @property
    def events_per_message(self) -> float:
        return self.events / max(self.messages, 1)

    @property
    def actions_per_message(self) -> float:
        return self.actions / max(self.messages, 1)


def cost_of(history: WorkflowHistory, message_activity: str) -> HistoryCost:
    from temporalio.api.history.v1 import History

    messages = sum(
        1
        for e in history.events
        if e.event_type == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == message_activity
    )
    return HistoryCost(
        events=len(history.events),
        actions=sum(1 for e in history.events if e.event_type in ACTION_EVENTS),
        bytes=History(events=history.events).ByteSize(),
        messages=messages,
    )


@asynccontextmanager
async def dev_server(persistent: bool = False) -> AsyncIterator[WorkflowEnvironment]:
    """The dev server with our search attributes; in memory unless `persistent` (a
    database file, as `make run` uses)."""
    with tempfile.TemporaryDirectory() as folder:
        server = await start_local(database=Path(folder) / "temporal.db" if persistent else None)
        try:
            yield server
        finally:
            await server.shutdown()


async def gather_limited(
    calls: Sequence[Callable[[], Awaitable[Any]]], limit: int = 100
) -> list[Any]:
    semaphore = asyncio.Semaphore(limit)

    async def one(call: Callable[[], Awaitable[Any]]) -> Any:
        async with semaphore:
            return await call()

    return await asyncio.gather(*(one(c) for c in calls))


def new_queue(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


@dataclass
class Timer:
    started: float = 0.0
    seconds: float = 0.0

    def __enter__(self) -> Timer:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.started
