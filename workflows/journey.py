"""`DelinquencyJourney`: one durable workflow per account, following its journey.

The definition arrives as data (a snapshot loaded by an activity at start and
kept in history), and `_run_step` dispatches each step to a short handler.
Every policy promise is decided here, from the workflow's own state, so it
holds across crashes, restarts and redeliveries. The definition was validated
before the journey started; nothing here re-checks it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Literal

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from rapport import search_attributes as sa
    from rapport.contracts import (
        AcceptedPlan,
        AcceptPlan,
        Engagement,
        HandoffRecord,
        HandoffRequest,
        JourneyInput,
        JourneyResult,
        JourneySnapshot,
        JourneyStatus,
        LoadJourney,
        Note,
        OptOut,
        PaymentCheck,
        PaymentReceived,
        PaymentStatus,
        SendRequest,
        SendResult,
        SentMessage,
        SkippedStep,
        workflow_id,
    )
    from rapport.language.expressions import ExpressionError, is_true
    from rapport.language.models import (
        BranchStep,
        EndStep,
        HandoffStep,
        JourneyDefinition,
        Message,
        OfferPlanStep,
        SendStep,
        Step,
        WaitStep,
    )
    from rapport.language.templates import TemplateBundle, bundle_of, template_file
    from rapport.language.types import Channel
    from rapport.messages import PlanOffered
    from rapport.policy.caps import Delivery, cap_blocks, prune
    from rapport.policy.plans import plan_option, plan_options, plan_rejection
    from rapport.policy.schedule import earliest_send
    from rapport.policy.window import closing, local
    from rapport.selection import JourneyFacts, choose_segment, expression_context
    from rapport.state import JourneyState

ACTIVITY_TIMEOUT = timedelta(seconds=30)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))
# Deliveries retry until the contact window closes (schedule-to-close), then defer.
SEND_RETRY = RetryPolicy(initial_interval=timedelta(seconds=5), backoff_coefficient=2.0,
                         maximum_interval=timedelta(minutes=10),
                         non_retryable_error_types=["WindowClosed"])
MIN_SEND_TIME = timedelta(minutes=1)
SEND_HEARTBEAT = timedelta(seconds=10)  # a dead worker's delivery is retried after this
MAX_STEPS_PER_RUN = 500  # a bounded loop: a long journey continues as new instead

Sent = Literal["sent", "stopped", "skipped", "retry"]


@workflow.defn(name="DelinquencyJourney")
class DelinquencyJourney:
    @workflow.init
    def __init__(self, request: JourneyInput) -> None:
        self.request = request
        self.state = request.continued or JourneyState(
            account=request.account, balance=request.account.balance,
            started_at=workflow.now(),
        )
        self._changes = 0  # bumped by every signal and update: waits wake on it
        self._operator_view = False  # search attributes and details (patched in, see run)
        self._publish_every_step = False  # the older behaviour (patched out, see run)
        self._published: dict[str, object] = {}
        self._template_subsets: dict[str, TemplateBundle] = {}
        self._mode: Literal["running", "waiting", "deferred", "paused", "finished"] = "running"
        self._next_action_at = workflow.now()

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
                "load_journey", LoadJourney(journey=request.journey, account=request.account),
                result_type=JourneySnapshot, start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=RetryPolicy(maximum_attempts=5),
            )
            self._choose_segment()
            workflow.logger.info(f"journey {self.definition.id} v{self.definition.version} "
                                 f"started, segment {self.state.segment}",
                                 extra=self._log_fields())
        await self._walk()
        await self._finish()
        return JourneyResult(outcome=self.state.outcome or "exhausted",
                             messages_sent=len(self.state.sent), paid=self.state.paid,
                             plan=self.state.accepted_plan)

    @property
    def definition(self) -> JourneyDefinition:
        assert self.state.snapshot is not None
        return self.state.snapshot.definition

    async def _walk(self) -> None:
        steps = self.definition.steps
        for _ in range(MAX_STEPS_PER_RUN):
            if self._stopped():
                return
            await self._send_partial_notices()
            if self._stopped():
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
        workflow.logger.info(f"step {step.id} (occurrence {occurrence})",
                             extra={**self._log_fields(), "occurrence": occurrence})
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
        if self.state.paid:
            await self._thank_for_payment()
            self.state.outcome = "paid"
        elif self.state.accepted_plan is not None:
            self.state.outcome = "plan_accepted"
        elif self.state.ceased:
            self.state.outcome = "ceased"
        else:
            await self._send_partial_notices()
            if self.state.paid:
                await self._thank_for_payment()
                self.state.outcome = "paid"
        self._mode = "finished"
        self._publish()
        workflow.logger.info(f"journey ended: {self.state.outcome}", extra=self._log_fields())

    def _stopped(self) -> bool:
        s = self.state
        return s.paid or s.ceased or s.accepted_plan is not None or s.outcome is not None

    # --- step handlers ---------------------------------------------------------------------

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
        options = plan_options(self.state.balance, offer.installments, offer.min_installment)
        if not options:
            self._skip(step.id, offer.channel, "condition_false",
                       f"no plan has installments of at least {offer.min_installment}")
            return
        first_due = local(workflow.now() + offer.respond_within, self._timezone).date()
        plan = PlanOffered(options=options, offered=[o.installments for o in options],
                           min_installment=offer.min_installment, first_due=first_due)
        if await self._deliver(step.id, offer, plan) != "sent":
            return
        self.state.plan_offer = plan
        await self._wait(offer.respond_within)

    async def _handoff(self, step: HandoffStep) -> None:
        s = self.state
        summary = (f"Journey {self.definition.id} v{self.definition.version}, segment "
                   f"{s.segment}, balance {s.balance} {s.account.currency}, "
                   f"{len(s.sent)} messages sent, engaged: {s.engaged}.")
        key = self._key(step.id, s.occurrences[step.id], "handoff")
        await workflow.execute_activity(
            "create_handoff",
            HandoffRequest(idempotency_key=key, queue=step.handoff.queue, account=s.account,
                           balance=s.balance, journey_id=self.definition.id,
                           segment=s.segment, summary=summary, at=workflow.now()),
            result_type=SendResult, start_to_close_timeout=ACTIVITY_TIMEOUT,
            heartbeat_timeout=SEND_HEARTBEAT, retry_policy=RETRY,
        )
        s.handoffs.append(HandoffRecord(step=step.id, queue=step.handoff.queue,
                                        at=workflow.now()))

    async def _wait(self, duration: timedelta) -> None:
        """Wait `duration`; a payment in full, an accepted plan or a cease ends it at once.
        A partial payment's thank-you goes out during the wait, not after it."""
        deadline = workflow.now() + duration
        while not self._stopped():
            await self._send_partial_notices()
            if self._stopped() or workflow.now() >= deadline:
                return
            self._mode, self._next_action_at = "waiting", deadline
            self._publish()
            await self._until_change(deadline - workflow.now())
        self._mode = "running"

    # --- delivery: where the policy is kept -------------------------------------------------

    async def _deliver(self, step_id: str, message: Message, plan: PlanOffered | None = None,
                       notice: bool = False) -> Sent:
        """Send on the message's channel, else on its fallback, under the whole policy."""
        result: Sent = "skipped"
        for channel in message.channels():
            reason = self._unusable(channel)
            if reason is not None:
                self._skip(step_id, channel, reason)
                continue
            result = await self._send_on(channel, step_id, message, plan, notice)
            if result != "skipped":
                return result
        return result

    async def _send_on(self, channel: Channel, step_id: str, message: Message,
                       plan: PlanOffered | None, notice: bool) -> Sent:
        stop: Callable[[], bool] = (lambda: self.state.ceased) if notice else self._stopped
        policy = self.definition.policy
        while True:
            if stop():
                return "stopped"
            reason = self._unusable(channel)
            if reason is not None:
                self._skip(step_id, channel, reason)
                return "skipped"
            if self.state.paused or self.state.disputed:
                self._mode = "paused"
                self._publish()
                await workflow.wait_condition(
                    lambda: stop() or not (self.state.paused or self.state.disputed))
                continue
            now = workflow.now()
            if policy.on_cap == "skip" and cap_blocks(now, channel, policy.caps, self.state.ledger):
                self._skip(step_id, channel, "cap")
                return "skipped"
            at = earliest_send(now, channel, policy, self._timezone, self.state.ledger)
            if at > now:
                self._mode, self._next_action_at = "deferred", at
                self._publish()
                await self._until_change(at - now)
                continue
            if not notice and await self._balance_is_zero():
                return "stopped"
            result = await self._send_now(channel, step_id, message, plan)
            if result != "retry":
                return result

    async def _send_now(self, channel: Channel, step_id: str, message: Message,
                        plan: PlanOffered | None) -> Sent:
        s = self.state
        template = message.template_for(s.segment)
        key = self._key(step_id, s.occurrences.get(step_id, 1), channel)
        assert s.snapshot is not None
        templates = self._templates_for(template_file(template, channel))
        self._mode = "running"
        now = workflow.now()
        deliver_by = closing(now, self._timezone, self.definition.policy.contact_window.end)
        try:
            result = await workflow.execute_activity(
                "send_message",
                SendRequest(idempotency_key=key, step=step_id, channel=channel,
                            template=template, templates=dict(templates.sources),
                            account=s.account, balance=s.balance, sent_at=now, plan=plan,
                            deliver_by=deliver_by),
                result_type=SendResult, start_to_close_timeout=ACTIVITY_TIMEOUT,
                schedule_to_close_timeout=max(deliver_by - now, MIN_SEND_TIME),
                heartbeat_timeout=SEND_HEARTBEAT, retry_policy=SEND_RETRY,
            )
        except ActivityError as error:
            workflow.logger.warning("not delivered before the window closed; deferring",
                                    extra={**self._log_fields(), "channel": channel,
                                           "error": str(error.cause or error)})
            return "retry"
        if result.status == "rejected":
            self._skip(step_id, channel, "rejected", result.detail)
            return "skipped"
        if result.possible_duplicate:
            s.possible_duplicates += 1
        now = workflow.now()  # the attempt that delivered has just finished
        s.ledger.append(Delivery(at=now, channel=channel))
        s.sent.append(SentMessage(step=step_id, channel=channel, template=template, at=now,
                                  key=key))
        workflow.logger.info(f"sent {template} by {channel} ({key})",
                             extra={**self._log_fields(), "channel": channel,
                                    "template": template, "key": key})
        return "sent"

    async def _balance_is_zero(self) -> bool:
        status = await workflow.execute_activity(
            "check_payment_status",
            PaymentCheck(account_id=self.state.account.account_id,
                         known_balance=self.state.balance,
                         opening_balance=self.state.account.balance),
            result_type=PaymentStatus, start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=RETRY,
        )
        self.state.balance = status.balance
        if status.balance <= 0:
            self.state.paid = True
        return self.state.paid

    async def _thank_for_payment(self) -> None:
        notice = self.definition.on_paid
        if notice is not None and not self.state.ceased:
            self.state.occurrence("on_paid")
            await self._deliver("on_paid", notice.send, notice=True)

    async def _send_partial_notices(self) -> None:
        notice = self.definition.on_partial_payment
        while self.state.partial_notices_due > 0 and not self._stopped():
            self.state.partial_notices_due -= 1
            if notice is not None:
                self.state.occurrence("on_partial_payment")
                await self._deliver("on_partial_payment", notice.send)

    def _unusable(self, channel: Channel) -> str | None:
        """Why `channel` cannot be used for this customer now, or None."""
        s = self.state
        if s.ceased:
            return "ceased"
        if channel in s.suppressed:
            return "opted_out"
        if not s.account.consent.get(channel, False):
            return "no_consent"
        if not s.account.address_for(channel):
            return "no_address"
        return None

    # --- signals, the update, the query ---------------------------------------------------

    @workflow.signal(name="payment_received")
    def payment_received(self, payment: PaymentReceived | None) -> None:
        if payment is None:
            return self._ignore_empty("payment_received")
        if self.state.paid:
            return
        self.state.balance -= payment.amount
        if self.state.balance <= 0:
            self.state.paid = True
        elif not self._stopped():
            self.state.partial_notices_due += 1
        self._changed("payment_received", amount=str(payment.amount))

    @workflow.signal(name="opt_out")
    def opt_out(self, request: OptOut | None) -> None:
        if request is None:
            return self._ignore_empty("opt_out")
        if request.channel not in self.state.suppressed:
            self.state.suppressed.append(request.channel)
        self._changed("opt_out", channel=request.channel)

    @workflow.signal(name="cease_communication")
    def cease_communication(self, note: Note | None = None) -> None:
        self.state.ceased = True
        self._changed("cease_communication")

    @workflow.signal(name="hardship_reported")
    def hardship_reported(self, note: Note | None = None) -> None:
        account = self.state.account
        history = account.history.model_copy(update={"hardship": True})
        self.state.account = account.model_copy(update={"history": history})
        if self.state.snapshot is not None:
            self._choose_segment()
        self._changed("hardship_reported")

    @workflow.signal(name="dispute")
    def dispute(self, note: Note | None = None) -> None:
        self.state.disputed = True
        self._changed("dispute")

    @workflow.signal(name="dispute_resolved")
    def dispute_resolved(self, note: Note | None = None) -> None:
        self.state.disputed = False
        self._changed("dispute_resolved")

    @workflow.signal(name="engagement")
    def engagement(self, event: Engagement | None) -> None:
        if event is None:
            return self._ignore_empty("engagement")
        self.state.engaged = True
        self._changed("engagement", kind=event.kind)

    @workflow.signal(name="pause")
    def pause(self, note: Note | None = None) -> None:
        self.state.paused = True
        self._changed("pause")

    @workflow.signal(name="resume")
    def resume(self, note: Note | None = None) -> None:
        self.state.paused = False
        self._changed("resume")

    @workflow.update(name="accept_plan")
    def accept_plan(self, request: AcceptPlan | None) -> AcceptedPlan:
        assert request is not None  # the validator rejects an empty request
        option = plan_option(self.state.balance, request.installments)
        assert self.state.plan_offer is not None
        accepted = AcceptedPlan(installments=option.installments, amount=option.amount,
                                last_amount=option.last_amount,
                                first_due=self.state.plan_offer.first_due,
                                accepted_at=workflow.now())
        self.state.accepted_plan = accepted
        self._changed("accept_plan", installments=request.installments)
        return accepted

    @accept_plan.validator
    def _validate_accept_plan(self, request: AcceptPlan | None) -> None:
        s = self.state
        if request is None:
            raise ApplicationError("accept_plan needs a payload: {\"installments\": N}")
        if self._stopped():
            raise ApplicationError(f"this journey has ended ({self._ending()})")
        offer = s.plan_offer
        reason = plan_rejection(request.installments, offer.offered if offer else None,
                                s.balance, offer.min_installment if offer else s.balance)
        if reason is not None:
            raise ApplicationError(reason)

    @workflow.query(name="status")
    def status(self) -> JourneyStatus:
        s = self.state
        snapshot = s.snapshot
        return JourneyStatus(
            journey_id=snapshot.definition.id if snapshot else (self.request.journey or ""),
            journey_version=snapshot.definition.version if snapshot else 0,
            account_id=s.account.account_id, segment=s.segment, step=s.step,
            state=self._mode, next_action_at=None if self._mode == "finished"
            else self._next_action_at,
            balance=s.balance, messages=s.sent, skipped=s.skipped, handoffs=s.handoffs,
            suppressed_channels=s.suppressed, outcome=s.outcome,
            plan_offered=s.plan_offer.offered if s.plan_offer else None,
            steps_run=sum(s.occurrences.values()), possible_duplicates=s.possible_duplicates,
            errors=s.errors,
        )

    # --- what operators see ------------------------------------------------------------------

    def _publish(self) -> None:
        """Keep search attributes and the workflow's current details up to date.

        Called where the journey comes to rest (a wait, a deferral, a hold, the end),
        not at every step: steps between two rests take milliseconds, and each upsert
        costs the server a visibility write."""
        if not self._operator_view or self.state.snapshot is None:
            return
        s, d = self.state, self.definition
        values: dict[SearchAttributeKey[Any], Any] = {
            sa.ACCOUNT_ID: s.account.account_id, sa.JOURNEY_ID: d.id,
            sa.JOURNEY_VERSION: d.version, sa.JOURNEY_STEP: s.step or "",
            sa.SEGMENT: s.segment, sa.BALANCE_DUE: float(s.balance),
            sa.DAYS_PAST_DUE: s.account.days_past_due
            + (workflow.now() - s.started_at).days,
            sa.OUTCOME: s.outcome or ("running" if self._mode != "finished" else ""),
        }
        changed = [key.value_set(value) for key, value in values.items()
                   if self._published.get(key.name) != value]
        if changed:
            workflow.upsert_search_attributes(changed)
            self._published.update({key.name: value for key, value in values.items()})
        workflow.set_current_details(self._details())

    def _details(self) -> str:
        s, policy = self.state, self.definition.policy
        now = workflow.now()
        lines = [f"**Step** {s.step or '-'} ({self._mode})"]
        if self._mode in ("waiting", "deferred"):
            at = self._next_action_at
            lines.append(f"**Next** {local(at, self._timezone):%a %Y-%m-%d %H:%M} customer time"
                         f" ({at:%Y-%m-%d %H:%M} UTC)")
        lines.append(f"**Segment** {s.segment} · **Balance** {s.balance} {s.account.currency}")
        caps = [f"{cap.channel} {used}/{cap.max} per {cap.per}" for cap, used in
                ((cap, sum(1 for x in s.ledger if cap.channel in ("all", x.channel)
                           and x.at > now - cap.per)) for cap in policy.caps)]
        lines.append(f"**Messages sent** {len(s.sent)}"
                     + (f" · **Caps used** {', '.join(caps)}" if caps else ""))
        if s.suppressed or s.ceased or s.paused or s.disputed:
            holds = [f"opted out of {c}" for c in s.suppressed]
            holds += [h for h, on in (("ceased", s.ceased), ("paused", s.paused),
                                      ("disputed", s.disputed)) if on]
            lines.append(f"**Holds** {', '.join(holds)}")
        if s.outcome:
            lines.append(f"**Outcome** {s.outcome}")
        return "\n\n".join(lines)

    # --- helpers -----------------------------------------------------------------------------

    def _ignore_empty(self, signal: str) -> None:
        """A null payload decodes to None, not to a validation error: drop it, as the SDK
        drops a payload it cannot decode, rather than fail the workflow task."""
        workflow.logger.warning(f"{signal} without a payload: ignored", extra=self._log_fields())

    def _changed(self, event: str, **fields: object) -> None:
        self._changes += 1
        workflow.logger.info(f"{event} {fields or ''}".strip(),
                             extra={**self._log_fields(), **fields})

    async def _until_change(self, timeout: timedelta) -> None:
        """Sleep until `timeout` passes or any signal or update arrives."""
        seen = self._changes
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: self._changes != seen, timeout=timeout)

    def _holds(self, expression: str | None, where: str) -> bool:
        """Evaluate a `when`; a run-time error is recorded and counts as false."""
        try:
            return is_true(expression, self._context())
        except ExpressionError as exc:
            self.state.errors.append(f"{where}: {exc}")
            workflow.logger.warning("expression failed", extra={"where": where,
                                                                "error": str(exc)})
            return False

    def _context(self) -> dict[str, object]:
        s = self.state
        facts = JourneyFacts(
            messages_sent=len(s.sent), days_elapsed=(workflow.now() - s.started_at).days,
            engaged=s.engaged, last_channel=s.sent[-1].channel if s.sent else None, step=s.step)
        return expression_context(s.account, s.balance, s.segment, facts)

    def _choose_segment(self) -> None:
        segment, errors = choose_segment(self.definition, self._context())
        self.state.segment = segment
        self.state.errors.extend(errors)

    def _skip(self, step_id: str, channel: Channel | None, reason: str, detail: str = "") -> None:
        self.state.skipped.append(SkippedStep(step=step_id, channel=channel, at=workflow.now(),
                                              reason=reason, detail=detail))
        workflow.logger.info(f"skipped {step_id} on {channel}: {reason}",
                             extra={**self._log_fields(), "channel": channel, "reason": reason})

    def _key(self, name: str, occurrence: int, channel: str) -> str:
        """Idempotency key from business identity: account, journey version, step, occurrence."""
        d = self.definition
        return f"{workflow_id(self.state.account.account_id)}/{d.id}/v{d.version}/{name}/" \
               f"{occurrence}/{channel}"

    def _templates_for(self, file: str) -> TemplateBundle:
        """The template and what it includes: computed once per template and run."""
        if file not in self._template_subsets:
            assert self.state.snapshot is not None
            bundle = bundle_of(self.state.snapshot.templates)
            self._template_subsets[file] = bundle.subset(file)
        return self._template_subsets[file]

    def _ending(self) -> str:
        s = self.state
        if s.paid:
            return "paid"
        if s.accepted_plan is not None:
            return "plan_accepted"
        return "ceased" if s.ceased else (s.outcome or "ended")

    @property
    def _timezone(self) -> str:
        return self.state.account.customer.timezone

    def _log_fields(self) -> dict[str, object]:
        s = self.state
        return {"account_id": s.account.account_id, "journey": self.definition.id
                if s.snapshot else None, "step": s.step, "segment": s.segment}

    def _history_is_long(self) -> bool:
        info = workflow.info()
        return info.is_continue_as_new_suggested() or \
            info.get_current_history_length() >= self.request.history_limit

    async def _continue_as_new(self) -> None:
        await workflow.wait_condition(workflow.all_handlers_finished)
        s = self.state
        s.ledger = prune(s.ledger, workflow.now(), self.definition.policy.caps,
                         self.definition.policy.min_gap)
        workflow.logger.info("continuing as new", extra=self._log_fields())
        workflow.continue_as_new(self.request.model_copy(update={"continued": s}))
