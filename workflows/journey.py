"""`DelinquencyJourney`: one durable workflow per account, following its journey.

This is the workflow's face to Temporal: its type, input, signals (one handler per row
of the signal table), the `accept_plan` update and the `status` query. The journey
itself reads top to bottom in `steps` (pin, walk the steps, finish), sending under the
policy in `delivery`; the definition stays out of history, found by hash.

Journeys are pinned to the worker version they started on (Worker Versioning; the
behaviour is the worker's default, `rapport.runtime.versions`) and move to a new version
at a step boundary or a rest by continuing as new (`JourneyCore._history_is_long`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RawValue

from rapport.contract.journey import JourneyResult, JourneyStatus, MigrationPreview
from rapport.contract.names import (
    ACCEPT_PLAN_UPDATE,
    MIGRATION_PREVIEW_QUERY,
    STATUS_QUERY,
    WORKFLOW_TYPE,
)
from rapport.contract.records import AcceptedPlan
from rapport.contract.signals import SIGNALS
from workflows.intake import NO_INPUT, Foreign, JourneyIntake, one_argument, unknown
from workflows.plan import PLANS_PATCH

# Only refused input fails a journey (an ApplicationError the workflow raises itself:
# an invalid start, a journey that does not exist). Anything else raised in workflow code,
# a pydantic ValidationError from our own models included, is a bug: it fails the
# workflow task, which Temporal retries, so the deploy that fixes it heals the journey.
W = TypeVar("W")


def handles_signals(cls: type[W]) -> type[W]:
    """One handler per row of the signal table, named as the signal, each applying the
    signal's effect (`JourneyState.on_<name>`): a new signal needs no handler here."""
    for name in SIGNALS:
        if name not in vars(cls):  # a signal that does more than change state has its own
            setattr(cls, name, _signal_handler(name))
    return cls


def _signal_handler(name: str) -> Callable[..., Awaitable[None]]:
    # `self` unannotated: the SDK reads an annotated first parameter as the signal's
    # argument, and with two hints for one payload it drops them all (no RawValue).
    async def handle(self, payload: Foreign = NO_INPUT, *extra: Any) -> None:  # type: ignore[no-untyped-def]
        await self._take(name, payload, extra)

    handle.__name__ = handle.__qualname__ = name
    return workflow.signal(name=name)(one_argument(handle))


# Not sandboxed: see workflows/sandbox.py for why, and what checks determinism instead.
@workflow.defn(name=WORKFLOW_TYPE, sandboxed=False)
@handles_signals
class DelinquencyJourney(JourneyIntake):
    # One argument, as the SDK sees them (`one_argument`): more are refused, not a TypeError.
    @workflow.init
    @one_argument
    def __init__(self, request: Foreign = NO_INPUT, *extra: Any) -> None:
        super().__init__(self._begin_run(request, extra))
        self._plans = workflow.patched(PLANS_PATCH)  # decided once, before anything else

    @workflow.run
    @one_argument
    async def run(self, request: Foreign = NO_INPUT, *extra: Any) -> JourneyResult:
        self._introduce()
        return await self._journey()

    @workflow.signal(name="callback_requested")
    @one_argument
    async def callback_requested(self, payload: Foreign = NO_INPUT, *extra: Any) -> None:
        """Pause outreach (the state's effect) and ask a person to call."""
        await self._take("callback_requested", payload, extra)
        await self._callback_handoffs()

    @workflow.signal(name="migrate_to")
    @one_argument
    async def migrate_to(self, payload: Foreign = NO_INPUT, *extra: Any) -> None:
        """Move to another version of the definition at the next safe point."""
        if not self._migrations:
            self._unknown_signal("migrate_to")  # what a run begun before it did
            return
        asked = self._asked_migration()
        await self._take("migrate_to", payload, extra)
        if self._asked_migration() is not asked:  # a new move recorded (not a repeat)
            await self._resolve_migration()

    @workflow.signal(dynamic=True)
    def unknown_signal(self, name: str, args: Sequence[RawValue]) -> None:
        self._unknown_signal(name)

    @workflow.update(name=ACCEPT_PLAN_UPDATE)
    @one_argument
    async def accept_plan(self, request: Any = None, *extra: Any) -> AcceptedPlan:
        return await self._accept_plan_now(self._plan_request(request, extra))

    @accept_plan.validator
    @one_argument
    def _validate_accept_plan(self, request: Any = None, *extra: Any) -> None:
        self._check_plan(self._plan_request(request, extra))

    @workflow.update(dynamic=True)
    def unknown_update(self, name: str, args: Sequence[RawValue]) -> None:
        raise unknown("update", name, [ACCEPT_PLAN_UPDATE])

    @unknown_update.validator
    def _refuse_unknown_update(self, name: str, args: Sequence[RawValue]) -> None:
        raise unknown("update", name, [ACCEPT_PLAN_UPDATE])

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> JourneyStatus:
        return self._status()

    @workflow.query(name=MIGRATION_PREVIEW_QUERY)
    def migration_preview(self, request: Any) -> MigrationPreview:
        """`journey migrate --dry-run`: what a move to that version would do now."""
        return self._migration_preview(request)

    @workflow.query(dynamic=True)
    def unknown_query(self, name: str, args: Sequence[RawValue]) -> None:
        raise unknown("query", name, [STATUS_QUERY, MIGRATION_PREVIEW_QUERY])
