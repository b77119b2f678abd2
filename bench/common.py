"""What the benchmarks share: a dev server in a temporary folder, a journey with
one-second waits (the language's smallest unit is a minute, so it is built in
Python), and the bare baseline workflow."""

from __future__ import annotations

import asyncio
import resource
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

from temporalio.testing import WorkflowEnvironment

from rapport.catalog.pinned import PinnedJourney
from rapport.cli.demo import midday_zone
from rapport.contract.names import workflow_id
from rapport.language.account import Account, Customer
from rapport.language.models import JourneyDefinition
from rapport.language.templates import TemplateBundle
from rapport.providers.outbox import Capture
from rapport.runtime.servers import start_local
from rapport.runtime.workers import EngineParts
from rapport.security.links import LinkSigner
from workflows.state import JourneyInput

TEMPLATE = "Hi {{ customer.first_name }}, {{ balance }} is due: {{ links.pay_now }} {{ opt_out }}"


def bench_definition(sends: int = 3, waits: int = 2, wait: timedelta = timedelta(seconds=1),
                     first_wait: timedelta | None = None) -> JourneyDefinition:
    steps: list[dict[str, Any]] = []
    if first_wait is not None:
        steps.append({"id": "hold", "wait": first_wait})
    for i in range(max(sends, waits)):
        if i < sends:
            steps.append({"id": f"send{i}", "send": {"channel": "sms", "template": "note"}})
        if i < waits:
            steps.append({"id": f"wait{i}", "wait": wait})
    return JourneyDefinition.model_validate(
        {"id": "bench", "version": 1, "name": "Benchmark", "steps": steps})


@dataclass(frozen=True)
class OneJourney:
    """Every account gets this journey (a definition built in Python)."""

    journey: PinnedJourney

    def choose(self, journey_id: str | None, account: Account) -> PinnedJourney:
        return self.journey


def pinned(definition: JourneyDefinition) -> PinnedJourney:
    return PinnedJourney.of(definition, TemplateBundle({"note.sms.j2": TEMPLATE}), "bench")


def bench_parts(definition: JourneyDefinition) -> EngineParts:
    return EngineParts(journeys=[], channels={"*": Capture()},
                       signer=LinkSigner("https://pay.example.com", "bench"),
                       library=OneJourney(pinned(definition)))


def account(index: int) -> Account:
    return Account(account_id=f"B-{index}", balance=Decimal("120.00"), currency="USD",
                   days_past_due=5, consent={"sms": True},
                   customer=Customer(first_name="Bea", phone="+15555550100",
                                     timezone=midday_zone()))


def journey_input(index: int) -> JourneyInput:
    return JourneyInput(account=account(index), journey="bench")


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


async def gather_limited(calls: Sequence[Callable[[], Awaitable[Any]]],
                         limit: int = 100) -> list[Any]:
    semaphore = asyncio.Semaphore(limit)

    async def one(call: Callable[[], Awaitable[Any]]) -> Any:
        async with semaphore:
            return await call()

    return await asyncio.gather(*(one(c) for c in calls))


def new_queue(name: str) -> str:
    return f"{name}-{uuid.uuid4()}"


def rapport_id(index: int) -> str:
    return workflow_id(account(index).account_id)


@dataclass
class Timer:
    started: float = 0.0
    seconds: float = 0.0

    def __enter__(self) -> Timer:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.started


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
