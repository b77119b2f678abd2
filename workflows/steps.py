"""The journey itself, read top to bottom: pin it, walk its steps, finish, and what
signals, the plan update and the status query do.

Deterministic by construction (pure code and `temporalio.workflow` calls: no I/O, no
clock, no randomness). The workflow runs without Temporal's sandbox (`sandboxed=False`,
see `sandbox.py`), so nothing checks this at run time: `tests/workflows/
test_determinism.py` does, statically, with import-linter and the replay tests.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from rapport.contract.activities import HandoffRequest, Prepared, PrepareJourney, SendOutcome
from rapport.contract.journey import JourneyResult, JourneyStatus
from rapport.contract.payloads import AcceptPlan
from rapport.contract.plain import INVALID_INPUT, Unreadable
from rapport.contract.records import (
    AcceptedPlan,
    HandoffRecord,
    PlanOffered,
    WaitRecord,
    recent,
)
from rapport.contract.signals import SIGNALS
from rapport.language.durations import describe_duration
from rapport.language.models import (
    BranchStep,
    EndStep,
    HandoffStep,
    OfferPlanStep,
    SendStep,
    Step,
    WaitStep,
    WaitUntilStep,
)
from rapport.money import precision
from rapport.policy.plans import plan_option, plan_rejection
from rapport.policy.window import local
from workflows import operator_view
from workflows.core import LOCAL_TIMEOUT, STOPS_PATCH, ContinueAsNew, problems_of
from workflows.delivery import (
    ACTIVITY_TIMEOUT,
    CALLED_OFF,
    RETRY,
    SEND_HEARTBEAT,
)
from workflows.migration import JourneyMigration
from workflows.plan import JourneyPlan
from workflows.state import PLANS_IN_MINOR_UNITS, Refused, Waiting

MAX_STEPS_PER_RUN = 500  # a bounded loop: a long journey continues as new instead
HANDOFF_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2), maximum_interval=timedelta(minutes=1), maximum_attempts=8
)
HANDOFF_GIVE_UP = timedelta(minutes=15)  # then the journey goes on, the failure recorded
PREPARE_BACKOFF = timedelta(seconds=2)  # a start the store cannot answer waits this, doubling
PREPARE_BACKOFF_MAX = timedelta(minutes=1)
STORE_DOWN = "StoreUnavailable"  # the failure type activities give a store error
JOURNEY_NOT_FOUND = "JourneyNotFound"  # prepare_journey's when the start's journey is not there


class JourneySteps(JourneyMigration, JourneyPlan):
    _plans_in_units = False

    async def _journey(self) -> JourneyResult:
        """The whole run: pin the journey, walk its steps, finish; continue as new where a
        long history rests."""
        # Decided once, first (before any local activity, whose result a replay may see
        # early): runs that began before plans were cut in the currency's units keep cents.
        # Cents are the units of a two-place currency: the rule is the same, no marker.
        currency = self.state.account.currency if self.problem is None else "USD"
        self._plans_in_units = precision(currency) == 2 or workflow.patched(PLANS_IN_MINOR_UNITS)
        self._refuse_bad_input()
        self._decide_stops()
        if self.state.pin is None:
            await self._prepare()
        await self._ensure_rules()  # the account's rule packs, zones and holidays, recorded
        try:
            await self._walk()
            while await self._follow_plan():  # a plan that breaks goes on at its step
                await self._walk()
            await self._finish()
            await self._background_done()
        except ContinueAsNew:
            await self._continue_as_new()
        s = self.state
        return JourneyResult(
            outcome=s.outcome or "exhausted",
            messages_sent=s.messages_sent,
            paid=s.paid,
            plan=s.accepted_plan,
            messages=s.sent,
            skipped=s.skipped,
            deferred=s.deferred,
        )

    async def _prepare(self) -> None:
        """Pin the journey and read the customer's zone (one local activity, recorded)."""
        s = self.state
        request = PrepareJourney(journey=self.request.journey, account=s.account, at=workflow.now())
        if workflow.patched(STOPS_PATCH):
            prepared = await self._prepared(request)
        else:
            prepared = await workflow.execute_local_activity(
                "prepare_journey",
                request,
                result_type=Prepared,
                start_to_close_timeout=LOCAL_TIMEOUT,
                retry_policy=RetryPolicy(maximum_attempts=5),
                summary=prepare_summary(request),
            )
        s.pin, s.zone = prepared.pin, prepared.zone
        s.expressions = prepared.expressions
        s.ledger = [*prepared.recent, *s.ledger]  # caps count earlier journeys' messages
        if self._rules:  # what `prepare_journey` read back to (the rule packs may reach further)
            s.ledger_from = request.at - self._journey_reach() if request.at else None
        self._choose_segment()  # reads the pinned definition (a miss retries the task)
        workflow.logger.info("journey started", extra={**self._log_fields(), "segment": s.segment})

    async def _prepared(self, request: PrepareJourney) -> Prepared:
        """`prepare_journey`, retried with backoff for as long as the store (or anything but
        the journey's own input) fails: a store outage at the start never fails the
        journey, and operators see it waiting for the store. A journey that does not
        exist is refused input: that fails the journey."""
        pause = PREPARE_BACKOFF
        while True:
            try:
                prepared: Prepared = await workflow.execute_local_activity(
                    "prepare_journey",
                    request,
                    result_type=Prepared,
                    start_to_close_timeout=LOCAL_TIMEOUT,
                    retry_policy=RetryPolicy(maximum_attempts=1),  # the backoff is below
                    summary=prepare_summary(request),
                )
                return prepared
            except (ActivityError, ApplicationError) as error:  # a local one's comes bare
                cause = error.cause if isinstance(error, ActivityError) else error
                if isinstance(cause, ApplicationError) and cause.non_retryable:
                    refused = _refusal(cause)
                    if refused is None:
                        raise  # refused input, as a build before `_refusal` failed it
                    workflow.set_current_details(refused)
                    raise ApplicationError(
                        refused, type=INVALID_INPUT, non_retryable=True
                    ) from None
                store = isinstance(cause, ApplicationError) and cause.type == STORE_DOWN
                workflow.logger.warning(
                    "waiting for the store" if store else "journey not prepared; retrying",
                    extra=self._log_fields(),
                )
            self._mode, self._next_action_at = "waiting_for_store", workflow.now() + pause
            self._publish()
            await workflow.sleep(
                pause, summary=f"wait {describe_duration(pause)} for the store, then pin again"
            )
            self._mode = "running"
            pause = min(pause * 2, PREPARE_BACKOFF_MAX)

    async def _walk(self) -> None:
        s, steps = self.state, self.definition.steps
        for _ in range(MAX_STEPS_PER_RUN):
            if s.stopped():
                return
            await self._send_partial_notices()
            if s.stopped():
                return
            if s.position >= len(steps):
                s.outcome = "exhausted"
                return
            if self._history_is_long():
                raise ContinueAsNew
            self._move_if_asked(in_wait=False)  # between steps: a migrate_to moves here
            step = steps[s.position]
            s.step = step.id
            if s.reselect:
                self._choose_segment()
            s.position = await self._run_step(step, s.position)
        raise ContinueAsNew

    async def _run_step(self, step: Step, position: int) -> int:
        """Run one step; return the position of the next."""
        occurrence = self.state.begin(step.id)
        workflow.logger.info("step", extra={**self._log_fields(), "occurrence": occurrence})
        following = position + 1
        match step:
            case SendStep():
                await self._send_step(step)
            case WaitStep():
                await self._wait(step.wait)
            case WaitUntilStep():
                await self._wait_until(step)
            case BranchStep():
                following = self._branch(step, position)
            case OfferPlanStep():
                await self._offer_plan(step)
            case HandoffStep():
                await self._handoff(step)
            case EndStep():
                self.state.outcome = step.end
        self.state.finish(step.id)
        return following

    async def _finish(self) -> None:
        s = self.state
        if s.paid:
            s.outcome = "paid"
            await self._thank_for_payment()
        elif s.accepted_plan is not None:
            s.outcome = "plan_accepted"
        elif s.ceased:
            s.outcome = "ceased"
        else:
            await self._send_partial_notices()
            if s.paid:
                s.outcome = "paid"
                await self._thank_for_payment()
        self._mode = "finished"
        self._publish()
        workflow.logger.info("journey ended", extra={**self._log_fields(), "outcome": s.outcome})

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
        s, offer = self.state, step.offer_plan
        if s.resume_at is None or s.plan_offer is None:  # not resuming the response wait
            await self._ensure_zone()
            currency = s.account.currency if self._plans_in_units else None

            def plan_now() -> PlanOffered | None:
                """The options on the balance when the offer goes (a part payment while
                it waited for the window changes them)."""
                now = workflow.now()
                first_due = local(now + offer.respond_within, self.zone).date()
                return PlanOffered.of(
                    s.balance, offer, first_due, now + offer.respond_within, currency
                )

            plan = plan_now()
            if plan is None:
                self._skip(
                    step.id,
                    offer.channel,
                    "condition_false",
                    f"no plan has installments of at least {offer.min_installment}",
                )
                return
            when_sent = workflow.patched(STOPS_PATCH)
            if (
                await self._deliver(step.id, offer, plan_now if when_sent else lambda: plan)
                != "sent"
            ):
                return
            s.plan_offer = self._offered if when_sent else plan
        await self._wait(offer.respond_within)

    async def _handoff(self, step: HandoffStep) -> None:
        s = self.state
        summary = (
            f"Journey {self.definition.id} v{self.definition.version}, segment "
            f"{s.segment}, balance {s.balance} {s.account.currency}, "
            f"{s.messages_sent} messages sent, engaged: {s.engaged}."
        )
        await self._ask_a_person(step.id, step.handoff.queue, step.id, summary)

    async def _callback_handoffs(self) -> None:
        """The calls customers asked for that no person has been asked to make yet."""
        s = self.state
        while s.callbacks_due > 0 and s.pin is not None and s.callback_at is not None:
            s.callbacks_due -= 1
            summary = (
                f"The customer asked for a call at {s.callback_at.isoformat()} "
                f"(journey {s.pin.id}, balance {s.balance} {s.account.currency}); "
                "outreach is paused until you send resume."
            )
            await self._ask_a_person(
                "callback", "callback", f"callback-{s.callback_at:%Y%m%dT%H%M}", summary
            )
            self._changed("callback handoff")

    async def _ask_a_person(self, step_id: str, queue: str, key_name: str, summary: str) -> None:
        """A handoff: a task for a person on `queue` (the `create_handoff` activity)."""
        s = self.state
        assert s.pin is not None
        request = HandoffRequest(
            key=self._key(key_name, "handoff"),
            queue=queue,
            account_id=s.account.account_id,
            journey_id=s.pin.id,
            segment=s.segment,
            summary=summary,
            at=workflow.now(),
        )
        if not workflow.patched(STOPS_PATCH):
            await workflow.execute_activity(
                "create_handoff",
                request,
                result_type=SendOutcome,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                heartbeat_timeout=SEND_HEARTBEAT,
                retry_policy=RETRY,
                summary=handoff_summary(step_id, queue),
            )
        elif not await self._handoff_made(step_id, request):
            return
        s.handoffs = recent(
            [*s.handoffs, HandoffRecord(step=step_id, queue=queue, at=workflow.now())]
        )

    async def _handoff_made(self, step_id: str, request: HandoffRequest) -> bool:
        """A handoff under the journey's stop rules: a cease or a payment calls it off, a
        refusal is recorded as one, and its retries end (nothing it does can hold up a
        continue-as-new for long). True when the queue took it."""
        s = self.state
        if s.ceased:
            self._skip(step_id, None, "ceased")
            return False
        handle = workflow.start_activity(
            "create_handoff",
            request,
            result_type=SendOutcome,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            schedule_to_close_timeout=HANDOFF_GIVE_UP,
            heartbeat_timeout=SEND_HEARTBEAT,
            retry_policy=HANDOFF_RETRY,
            summary=handoff_summary(step_id, request.queue),
        )
        stop = (lambda: s.ceased) if step_id == "callback" else s.stopped
        await workflow.wait_condition(lambda: handle.done() or stop())
        if not handle.done():
            handle.cancel()
        try:
            outcome = await handle
        except ActivityError as error:
            if stop():
                self._skip(step_id, None, CALLED_OFF, "stopped while handing off")
            else:
                self._skip(step_id, None, "handoff_failed", str(error.cause or error)[:300])
            return False
        if outcome.status == "rejected":
            self._skip(step_id, None, "handoff_refused", outcome.detail)
            return False
        return True

    async def _wait(
        self, duration: timedelta, ended: Callable[[], bool] | None = None, what: str | None = None
    ) -> None:
        """Wait `duration`; a payment in full, an accepted plan or a cease ends it at once,
        and so does `ended` (a wait_until's). A partial payment's thank-you goes out during
        the wait, not after it. `what` names the wait on its timer."""
        s = self.state
        if s.resume_at is None:
            s.resume_at = workflow.now() + duration  # kept across continue-as-new
        deadline = s.resume_at
        while not s.stopped():
            await self._send_partial_notices()
            if s.stopped() or workflow.now() >= deadline or (ended is not None and ended()):
                break
            self._move_if_asked(in_wait=True)  # resting in its wait: a migrate_to moves here
            await self._rest("waiting", deadline, what)
        s.resume_at = None

    async def _wait_until(self, step: WaitUntilStep) -> None:
        """Wait until something the step lists happens while it waits (the signals' effects
        mark `state.waiting`), or its timeout; sends nothing."""
        s, until = self.state, step.wait_until
        if s.waiting is None or s.waiting.step != step.id:  # else: resumed after continuing
            s.waiting = Waiting(step=step.id, any_of=list(until.any_of), began=workflow.now())
        elif s.waiting.any_of != list(until.any_of):  # moved to a version that lists others
            s.waiting = s.waiting.model_copy(update={"any_of": list(until.any_of)})
        waiting = s.waiting
        said = " or ".join(event.replace("_", " ") for event in until.any_of)
        await self._wait(
            until.timeout,
            lambda: s.waiting is not None and bool(s.waiting.ended_by),
            f"{step.id}, unless {said} first",
        )
        ended_by = (s.waiting or waiting).ended_by or ("stopped" if s.stopped() else "timeout")
        s.waits = recent(
            [
                *s.waits,
                WaitRecord(
                    step=step.id, began=waiting.began, ended=workflow.now(), ended_by=ended_by
                ),
            ]
        )
        s.waiting = None
        workflow.logger.info("wait ended", extra={**self._log_fields(), "ended_by": ended_by})

    # --- signals, the update, the query ---------------------------------------------------

    def _receive(self, name: str, payload: Any) -> None:
        """Apply a signal from the table. One that does not fit is refused and recorded:
        `status` shows it, and the log says so; it never fails the workflow task."""
        if self.problem is not None:
            return
        signal, now, was_paid = SIGNALS[name], workflow.now(), self.state.paid
        try:
            if isinstance(payload, Unreadable):
                raise Refused(payload.problem)
            if payload is None and not signal.payload_optional:
                raise Refused("a payload is required")
            decoded = signal.payload.model_validate({} if payload is None else payload)
            stops = self._stops()
            getattr(self.state, f"on_{name}")(decoded, now)
        except (ValidationError, Refused) as exc:
            error = problems_of(exc) if isinstance(exc, ValidationError) else str(exc)
            self.state.refuse(name, now, error, _payment_id(payload))
            workflow.logger.warning("signal refused", extra={**self._log_fields(), "signal": name})
            self._changed(f"{name} refused")
            return
        if self._stops() != stops:  # before anything else: the store hears of it
            if name == "cease_communication":
                self._record_stop("cease")
            elif name == "opt_out":
                self._record_stop("opt_out", str(getattr(decoded, "channel", "all")))
            else:
                self._record_stop(why=name)
        if self.state.pin is not None:
            if self.state.reselect:
                self._choose_segment()  # a hardship or new account data: segments again
            if self.state.paid and not was_paid:
                self._publish()  # the moment the balance is cleared, operators see it
        self._changed(name)

    def _stops(self) -> tuple[bool, bool, bool, tuple[str, ...]]:
        s = self.state
        return (s.paid, s.ceased, s.held(), tuple(s.suppressed))

    def _accept_plan(self, request: AcceptPlan | None) -> AcceptedPlan:
        """A plan accepted: the journey ends `plan_accepted` (without `on_plan`)."""
        assert request is not None
        if self._plans:  # from the offer or the journey's terms (the door it goes through)
            door = self._door_for(request)
            option = plan_option(door.balance, request.installments, self.state.account.currency)
            first_due, every = door.first_due, request.every or door.every[0]
        else:
            assert self.state.plan_offer is not None
            offer = self.state.plan_offer
            found = offer.option(request.installments)
            assert found is not None
            option, first_due, every = found, offer.first_due, "monthly"
        accepted = AcceptedPlan(
            installments=option.installments,
            amount=option.amount,
            last_amount=option.last_amount,
            first_due=first_due,
            accepted_at=workflow.now(),
            every=every,
        )
        self.state.accepted_plan = accepted
        self.state.heard("plan_accepted")
        self._changed("accept_plan")
        return accepted

    async def _accept_plan_now(self, request: AcceptPlan | None) -> AcceptedPlan:
        """The update: a plan the journey follows is set up (`workflows.plan`); without
        `on_plan` (or before the plans patch) an accepted plan ends the journey."""
        if self._follows_plans():
            assert request is not None
            return await self._choose_plan(request)
        return self._accept_plan(request)

    def _check_plan(self, request: AcceptPlan | None) -> None:
        if self._plans:
            self._check_plan_choice(request)
            return
        if self.problem is not None:
            raise ApplicationError("this journey did not start: its input was invalid")
        s = self.state
        if request is None:
            raise ApplicationError('accept_plan needs a payload: {"installments": N}')
        if s.stopped():
            raise ApplicationError(f"this journey has ended ({s.ending()})")
        offer = s.plan_offer
        if offer is not None and offer.expires_at is not None and workflow.now() > offer.expires_at:
            raise ApplicationError(
                f"the plan offer expired on {local(offer.expires_at, self.zone):%Y-%m-%d %H:%M}"
            )
        if offer is not None and offer.balance is not None and offer.balance != s.balance:
            raise ApplicationError(
                f"the balance changed since the offer ({offer.balance} then, "
                f"{s.balance} now); that offer no longer stands"
            )
        reason = plan_rejection(
            request.installments,
            offer.offered if offer else None,
            offer.balance or s.balance if offer else s.balance,
            offer.min_installment if offer else s.balance,
            s.account.currency,
        )
        if reason is not None:
            raise ApplicationError(reason)

    def _status(self) -> JourneyStatus:
        if self.problem is not None:
            raise ApplicationError(self.problem)
        plan, earlier = self._plan_views()
        found = operator_view.status(
            self.state,
            self._mode,
            self._next_action_at,
            self.request.journey,
            plan,
            self._plan_choices(),
            earlier,
        )
        if self._rules_trouble is not None:  # the packs do not read (workflows/rules.py)
            found = found.model_copy(update={"errors": [*found.errors, self._rules_trouble]})
        return found


def prepare_summary(request: PrepareJourney) -> str:
    chosen = request.journey or "the journey the entry rules choose"
    return f"pin {chosen}; time-zone rules for {request.account.customer.timezone}"


def handoff_summary(step_id: str, queue: str) -> str:
    """`handoff to a person on queue collections-team`, `callback request to ...`."""
    what = "callback request" if step_id == "callback" else "handoff"
    step = f" (step {step_id})" if step_id not in ("callback", "handoff") else ""
    return f"{what} to a person on queue {queue}{step}"


def _refusal(cause: ApplicationError) -> str | None:
    """Why a start naming no journey there (or none that serves the account) fails, said
    without the account's data (`prepare_journey` gives it as the failure's details), so
    the journey fails as the other refused starts do: `InvalidJourneyInput`, readable
    without the codec (`rapport.contract.plain.READABLE_FAILURES`). None for any other
    failure, or one recorded before the details were given."""
    details = cause.details
    if cause.type != JOURNEY_NOT_FOUND or not details or not isinstance(details[0], str):
        return None
    return f"the journey's input is invalid: journey: {details[0][:1000]}"


def _payment_id(payload: Any) -> str | None:
    """The payment id a refused event carried, so `status.refused` names the payment."""
    if isinstance(payload, Unreadable):
        return payload.payment_id
    found = payload.get("payment_id") if isinstance(payload, dict) else None
    return found[:128] if isinstance(found, str) else None
