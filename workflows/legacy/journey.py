"""`DelinquencyJourney` version 1, frozen: the interpreter journeys started before the
lean-history engine (version 2) ran on. See `workflows/legacy/__init__.py`.

One durable workflow per account, following its journey.

The definition arrives as data (a snapshot loaded by an activity at start and
kept in history), and `_run_step` dispatches each step to a short handler.
Every policy promise is decided from the workflow's own state (`delivery`), so it
holds across crashes, restarts and redeliveries. The definition was validated
before the journey started; nothing here re-checks it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from pydantic import ValidationError
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from rapport.contract.names import ACCEPT_PLAN_UPDATE, STATUS_QUERY, WORKFLOW_TYPE
from rapport.language.models import (
    BranchStep,
    EndStep,
    HandoffStep,
    OfferPlanStep,
    SendStep,
    Step,
    WaitStep,
)
from rapport.policy.plans import plan_option, plan_rejection
from rapport.policy.window import local
from workflows.legacy import operator_view
from workflows.legacy.delivery import ACTIVITY_TIMEOUT, RETRY, SEND_HEARTBEAT, JourneyDelivery
from workflows.legacy.models import (
    SIGNALS,
    AcceptedPlan,
    AcceptPlan,
    HandoffRecord,
    HandoffRequest,
    JourneyResult,
    JourneySnapshot,
    JourneyStatus,
    LoadJourney,
    PlanOffered,
    SendResult,
)
from workflows.legacy.state import JourneyInput

MAX_STEPS_PER_RUN = 500  # a bounded loop: a long journey continues as new instead

W = TypeVar("W")


def handles_signals(cls: type[W]) -> type[W]:
    """One handler per row of the signal table, named as the signal, each applying the
    signal's effect (`JourneyState.on_<name>`): a new signal needs no handler here."""
    for name in SIGNALS:
        setattr(cls, name, _signal_handler(name))
    return cls


def _signal_handler(name: str) -> Callable[..., None]:
    def handle(self: Any, payload: Any = None) -> None:
        self._receive(name, payload)

    handle.__name__ = handle.__qualname__ = name
    return workflow.signal(name=name)(handle)


@workflow.defn(name=WORKFLOW_TYPE)
@handles_signals
class DelinquencyJourneyV1(JourneyDelivery):
    @workflow.init
    def __init__(self, request: JourneyInput) -> None:
        super().__init__(request)

    # --- the run -------------------------------------------------------------------------

    @workflow.run
    async def run(self, request: JourneyInput) -> JourneyResult:
        # Journeys recorded before operators' search attributes existed replay without them.
        self._operator_view = workflow.patched("operator-view-v1")
        # Journeys started before search attributes were published only at rest published
        # them at every step too; they must keep doing so to replay.
        self._publish_every_step = not workflow.patched("publish-at-rest-v1")
        if self.state.snapshot is None:
            self.state.snapshot = await workflow.execute_activity(
                "load_journey",
                LoadJourney(journey=request.journey, account=request.account),
                result_type=JourneySnapshot,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=RetryPolicy(maximum_attempts=5),
            )
            self._choose_segment()
            workflow.logger.info(
                f"journey {self.definition.id} v{self.definition.version} "
                f"started, segment {self.state.segment}",
                extra=self._log_fields(),
            )
        await self._walk()
        await self._finish()
        return JourneyResult(
            outcome=self.state.outcome or "exhausted",
            messages_sent=len(self.state.sent),
            paid=self.state.paid,
            plan=self.state.accepted_plan,
        )

    async def _walk(self) -> None:
        steps = self.definition.steps
        for _ in range(MAX_STEPS_PER_RUN):
            if self.state.stopped():
                return
            await self._send_partial_notices()
            if self.state.stopped():
                return
            if self.state.position >= len(steps):
                self.state.outcome = "exhausted"
                return
            if self._history_is_long():
                await self._continue_as_new()
            step = steps[self.state.position]
            self.state.step = step.id
            if self._publish_every_step:
                self._publish()
            self.state.position = await self._run_step(step, self.state.position)
        await self._continue_as_new()

    async def _run_step(self, step: Step, position: int) -> int:
        """Run one step; return the position of the next."""
        occurrence = self.state.occurrence(step.id)
        workflow.logger.info(
            f"step {step.id} (occurrence {occurrence})",
            extra={**self._log_fields(), "occurrence": occurrence},
        )
        match step:
            case SendStep():
                await self._send_step(step)
            case WaitStep():
                await self._wait(step.wait)
            case BranchStep():
                return self._branch(step, position)
            case OfferPlanStep():
                await self._offer_plan(step)
            case HandoffStep():
                await self._handoff(step)
            case EndStep():
                self.state.outcome = step.end
        return position + 1

    async def _finish(self) -> None:
        s = self.state
        if s.paid:
            await self._thank_for_payment()
            s.outcome = "paid"
        elif s.accepted_plan is not None:
            s.outcome = "plan_accepted"
        elif s.ceased:
            s.outcome = "ceased"
        else:
            await self._send_partial_notices()
            if s.paid:
                await self._thank_for_payment()
                s.outcome = "paid"
        self._mode = "finished"
        self._publish()
        workflow.logger.info(f"journey ended: {s.outcome}", extra=self._log_fields())

    # --- the steps ---------------------------------------------------------------------------

    async def _send_step(self, step: SendStep) -> None:
        if not self._holds(step.send.when, f"steps.{step.id}.send.when"):
            self._skip(step.id, step.send.channel, "condition_false")
            return
        await self._deliver(step.id, step.send)

    def _branch(self, step: BranchStep, position: int) -> int:
        index = self.definition.step_index()
        for i, rule in enumerate(step.branch):
            if self._holds(rule.when, f"steps.{step.id}.branch[{i}].when"):
                return index[rule.goto]
        return position + 1

    async def _offer_plan(self, step: OfferPlanStep) -> None:
        offer = step.offer_plan
        first_due = local(workflow.now() + offer.respond_within, self._timezone).date()
        plan = PlanOffered.of(self.state.balance, offer, first_due)
        if plan is None:
            self._skip(
                step.id,
                offer.channel,
                "condition_false",
                f"no plan has installments of at least {offer.min_installment}",
            )
            return
        if await self._deliver(step.id, offer, plan) != "sent":
            return
        self.state.plan_offer = plan
        await self._wait(offer.respond_within)

    async def _handoff(self, step: HandoffStep) -> None:
        s = self.state
        summary = (
            f"Journey {self.definition.id} v{self.definition.version}, segment "
            f"{s.segment}, balance {s.balance} {s.account.currency}, "
            f"{len(s.sent)} messages sent, engaged: {s.engaged}."
        )
        key = self._key(step.id, s.occurrences[step.id], "handoff")
        await workflow.execute_activity(
            "create_handoff",
            HandoffRequest(
                idempotency_key=key,
                queue=step.handoff.queue,
                account=s.account,
                balance=s.balance,
                journey_id=self.definition.id,
                segment=s.segment,
                summary=summary,
                at=workflow.now(),
            ),
            result_type=SendResult,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            heartbeat_timeout=SEND_HEARTBEAT,
            retry_policy=RETRY,
        )
        s.handoffs.append(HandoffRecord(step=step.id, queue=step.handoff.queue, at=workflow.now()))

    async def _wait(self, duration: timedelta) -> None:
        """Wait `duration`; a payment in full, an accepted plan or a cease ends it at once.
        A partial payment's thank-you goes out during the wait, not after it."""
        deadline = workflow.now() + duration
        while not self.state.stopped():
            await self._send_partial_notices()
            if self.state.stopped() or workflow.now() >= deadline:
                return
            self._mode, self._next_action_at = "waiting", deadline
            self._publish()
            await self._until_change(deadline - workflow.now())
        self._mode = "running"

    # --- signals, the update, the query ---------------------------------------------------

    def _receive(self, name: str, payload: Any) -> None:
        """Apply a signal from the table. A payload that does not fit is dropped with a
        warning, as the SDK drops one it cannot decode, rather than fail the task."""
        signal = SIGNALS[name]
        if payload is None and not signal.payload_optional:
            workflow.logger.warning(f"{name} without a payload: ignored", extra=self._log_fields())
            return
        try:
            decoded = signal.payload.model_validate({} if payload is None else payload)
        except ValidationError as exc:
            workflow.logger.warning(
                f"{name} with a payload that does not fit: ignored",
                extra={**self._log_fields(), "errors": exc.error_count()},
            )
            return
        getattr(self.state, f"on_{name}")(decoded)
        if signal.reselects_segment and self.state.snapshot is not None:
            self._choose_segment()
        self._changed(name, **_fields(decoded))

    @workflow.update(name=ACCEPT_PLAN_UPDATE)
    def accept_plan(self, request: AcceptPlan | None) -> AcceptedPlan:
        assert request is not None  # the validator rejects an empty request
        option = plan_option(self.state.balance, request.installments)
        assert self.state.plan_offer is not None
        accepted = AcceptedPlan(
            installments=option.installments,
            amount=option.amount,
            last_amount=option.last_amount,
            first_due=self.state.plan_offer.first_due,
            accepted_at=workflow.now(),
        )
        self.state.accepted_plan = accepted
        self._changed("accept_plan", installments=request.installments)
        return accepted

    @accept_plan.validator
    def _validate_accept_plan(self, request: AcceptPlan | None) -> None:
        s = self.state
        if request is None:
            raise ApplicationError('accept_plan needs a payload: {"installments": N}')
        if s.stopped():
            raise ApplicationError(f"this journey has ended ({s.ending()})")
        offer = s.plan_offer
        reason = plan_rejection(
            request.installments,
            offer.offered if offer else None,
            s.balance,
            offer.min_installment if offer else s.balance,
        )
        if reason is not None:
            raise ApplicationError(reason)

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> JourneyStatus:
        return operator_view.status(
            self.state, self._mode, self._next_action_at, self.request.journey
        )


def _fields(payload: Any) -> dict[str, object]:
    """What a log line may say of a signal's payload: amounts, channels, kinds."""
    shown = payload.model_dump(mode="json", exclude_defaults=True)
    return {k: v for k, v in shown.items() if k in ("amount", "channel", "kind")}
