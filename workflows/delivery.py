"""Delivering a message under the whole policy: where the engine keeps its promises.

Consent, opt-outs, a cease, a hold, the caps, the gap, cooldowns and the contact window
(the journey's policy and the account's rule packs merged, in every zone the customer may
be in: `workflows/rules.py`) are decided from the workflow's own state, again after every
wait, so they hold across crashes, restarts and redeliveries. A message is one activity,
which checks the balance with billing and consent in the store right before it sends; a
stop while it runs cancels it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError

from rapport.contract.activities import DeliveryRecord, SendMessage, SendOutcome
from rapport.contract.records import PlanOffered, PlanView, SentMessage
from rapport.language.context import ESSENTIAL_FIELDS
from rapport.language.models import Message, Policy
from rapport.language.templates import project, template_file
from rapport.policy.caps import cap_blocks
from rapport.policy.schedule import (
    MIN_SEND_TIME,
    capped_now,
    earliest_send,
    spread_for,
    transactional,
)
from rapport.policy.window import closing
from workflows import operator_view
from workflows.core import STOPS_PATCH, STORE_RETRY
from workflows.rules import JourneyRules

ACTIVITY_TIMEOUT = timedelta(seconds=30)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))
# Deliveries retry until the contact window closes (schedule-to-close), then defer. What
# must not be retried the activity raises as non-retryable itself (not named here: each
# send would carry the names in history).
SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
)
SEND_HEARTBEAT = timedelta(seconds=10)  # a dead worker's delivery is retried after this
GIVE_UP_AFTER = timedelta(days=3)  # a message failing this long is skipped, with the reason
CALLED_OFF = "called_off"  # a stop during a delivery: it may have reached the customer
NO_WINDOW = "no_window"  # the limits together leave a message no moment to go


Sent = Literal["sent", "stopped", "skipped"]
AGAIN: Literal["again"] = "again"  # called off by a hold or an opt-out: decide again
Offer = Callable[[], PlanOffered | None]


class JourneyDelivery(JourneyRules):
    _intake = False  # the run began under the intake patch (workflows/intake.py)
    _offered: PlanOffered | None = None  # the plan the last attempt offered

    async def _deliver(
        self,
        step_id: str,
        message: Message,
        plan: Offer | None = None,
        notice: bool = False,
        until: Callable[[], bool] | None = None,
        at_once: bool = False,
    ) -> Sent:
        """Send on the message's channel, else on its fallback, under the whole policy.
        `until`: what calls the message off (default: the journey's stops); `at_once`:
        transactional (a plan's confirmation and thanks)."""
        result: Sent = "skipped"
        for channel in message.channels():
            reason = self.state.unusable(channel)
            if reason is not None:
                self._skip(step_id, channel, reason)
                continue
            result = await self._send_on(channel, step_id, message, plan, notice, until, at_once)
            if result != "skipped":
                return result
        return result

    async def _send_on(
        self,
        channel: str,
        step_id: str,
        message: Message,
        plan: Offer | None,
        notice: bool,
        until: Callable[[], bool] | None = None,
        at_once: bool = False,
    ) -> Sent:
        """Decide, and decide again after every wait, until the message goes or cannot."""
        s = self.state
        # Nothing but the thank-you may follow a payment; nothing at all follows a cease.
        stop: Callable[[], bool] = until or ((lambda: s.ceased) if notice else s.stopped)
        policy = self.definition.policy
        if self._transactional(message, notice) or at_once:
            policy = transactional(policy)
        while True:
            if stop():
                return "stopped"
            reason = s.unusable(channel)
            if reason is not None:
                self._skip(step_id, channel, reason)
                return "skipped"
            if s.held():
                if notice:  # a thank-you never waits on a hold: the journey ends
                    self._skip(step_id, channel, "disputed" if s.disputed else "paused")
                    return "skipped"
                await self._rest("paused", None)
                continue
            await self._ensure_zone()
            await self._ensure_rules()
            now = workflow.now()
            when = self._when(step_id, channel, policy, now)
            if when is None:
                return "skipped"
            at, deliver_by = when
            if at > now:
                template = message.template_for(s.segment)
                what = operator_view.send_summary(step_id, channel, template, plan is not None)
                await self._rest("deferred", at, what, self._why())
                continue
            if s.failing_since is not None and now - s.failing_since > GIVE_UP_AFTER:
                s.failing_since = None
                self._skip(
                    step_id,
                    channel,
                    "undeliverable",
                    f"failing since {GIVE_UP_AFTER.days} days; giving up",
                )
                return "skipped"
            result = await self._attempt(
                channel, step_id, message, plan, now, deliver_by, stop, reminder=not notice
            )
            if result == "again":
                continue
            if result is not None:
                s.failing_since = None
                return result
            s.failing_since = s.failing_since or now  # not delivered today: next opening

    def _when(
        self, step_id: str, channel: str, policy: Policy, now: datetime
    ) -> tuple[datetime, datetime] | None:
        """When the message may go and when the window it goes in closes; None: skipped
        (recorded with the rule that decided). Since the `rules` patch: the journey's
        policy and the account's packs merged, in every zone the customer may be in."""
        s = self.state
        spread = spread_for(s.account.account_id)
        if not self._rules:  # the policy alone, in the stated zone, as such journeys began
            if policy.on_cap == "skip" and cap_blocks(now, channel, policy.caps, s.ledger):
                self._skip(step_id, channel, "cap")
                return None
            at = earliest_send(now, channel, policy, self.zone, s.ledger, spread)
            deliver_by = closing(now, self.zone, policy.contact_window.end)
            if at == now and deliver_by - now < MIN_SEND_TIME:  # too late to finish today
                at = earliest_send(deliver_by, channel, policy, self.zone, s.ledger, spread)
            return at, deliver_by
        if policy.on_cap == "skip":
            cap = capped_now(now, channel, policy, self._place(), s.ledger)
            if cap is not None:
                self._skip(step_id, channel, "cap", pack=cap.pack, rule=cap.rule)
                return None
        verdict = self._verdict(now, channel, policy)
        if verdict.at == now and verdict.closes and verdict.closes - now < MIN_SEND_TIME:
            verdict = self._verdict(verdict.closes, channel, policy)  # too late for today
        if verdict.at is None or verdict.closes is None:
            by = verdict.by
            self._skip(
                step_id,
                channel,
                NO_WINDOW,
                "the limits leave this message no moment within a year"
                + (f" ({verdict.zone})" if verdict.zone else ""),
                pack=by.pack if by else "",
                rule=by.rule if by else "",
            )
            return None
        if verdict.at > now:
            self._deferred(step_id, channel, verdict)
        return verdict.at, verdict.closes

    async def _attempt(
        self,
        channel: str,
        step_id: str,
        message: Message,
        plan: Offer | None,
        now: datetime,
        deliver_by: datetime,
        stop: Callable[[], bool],
        reminder: bool,
    ) -> Sent | Literal["again"] | None:
        """One delivery activity, cancelled if the journey stops while it runs (and, since
        `stops-in-flight`, if the channel is opted out of or a hold begins).
        None: not delivered before the window closed (or a transient failure): retry later.
        AGAIN: called off by a hold or an opt-out: the caller decides again."""
        s = self.state
        assert s.pin is not None
        in_flight = workflow.patched(STOPS_PATCH)
        offered = plan() if plan is not None else None
        if plan is not None and offered is None:
            self._skip(step_id, channel, "condition_false", "no plan qualifies on the balance now")
            return "skipped"
        self._offered = offered
        template = message.template_for(s.segment)
        key = self._key(step_id, channel)
        request = SendMessage(
            key=key,
            journey=s.pin,
            step=step_id,
            channel=channel,
            template=template,
            account_id=s.account.account_id,
            to=s.account.address_for(channel) or "",
            fields=self._fields(template_file(template, channel)),
            balance=s.balance,
            **s.billing_facts(step_id),
            plan=offered,
            facts=self._facts()
            if self.journey.reads_facts(template_file(template, channel))
            else None,
            schedule=self._schedule_for(step_id),
            deliver_by=deliver_by,
            attempted_before=key in s.attempted,
            reminder=reminder,
            instance=self._instance() if in_flight else None,
            packs=self._packs(),
        )
        s.attempted = [*s.attempted, key][-20:] if key not in s.attempted else s.attempted
        self._mode = "running"
        handle = workflow.start_activity(
            "send_message",
            request,
            result_type=SendOutcome,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            schedule_to_close_timeout=deliver_by - now,
            heartbeat_timeout=SEND_HEARTBEAT,
            retry_policy=SEND_RETRY,
            cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            summary=operator_view.send_summary(step_id, channel, template, plan is not None),
        )
        halt = stop
        if in_flight:  # an opt-out for this channel or a hold calls the send off too
            halt = lambda: stop() or channel in s.suppressed or s.held()  # noqa: E731
        await workflow.wait_condition(lambda: handle.done() or halt())
        called_off = not handle.done()
        if called_off:
            handle.cancel()  # a stop: the send in flight, and its retries, are called off
        try:
            outcome = await handle
        except ActivityError as error:
            if called_off:  # cancelled, or timed out on a dead worker while being cancelled
                self._skip(
                    step_id,
                    channel,
                    CALLED_OFF,
                    "stopped while sending: an attempt may have reached the customer",
                )
                return "stopped" if stop() else AGAIN
            return self._not_delivered(step_id, channel, error)
        if outcome.status == "called_off" or (  # the send's look at the store found a stop
            in_flight and outcome.status in ("paid", "suppressed") and halt()
        ):
            self._skip(
                step_id, channel, CALLED_OFF, f"{outcome.detail or outcome.status}: not sent"
            )
            if stop():
                return "stopped"
            return AGAIN if channel in s.suppressed or s.held() else None
        if outcome.unlogged and workflow.patched(STOPS_PATCH):
            self._background.append(
                workflow.start_activity(
                    "record_delivery",
                    DeliveryRecord(
                        key=key,
                        account_id=s.account.account_id,
                        channel=channel,
                        at=self._sent_at(outcome) if self._rules else now,
                    ),
                    start_to_close_timeout=ACTIVITY_TIMEOUT,
                    retry_policy=STORE_RETRY,
                    summary="log the delivery of "
                    + operator_view.send_summary(step_id, channel, template, plan is not None),
                )
            )
        return self._delivered(step_id, channel, template, key, outcome)

    def _not_delivered(self, step_id: str, channel: str, error: ActivityError) -> Sent | None:
        cause = error.cause
        if isinstance(cause, CancelledError):
            return "stopped"
        if isinstance(cause, ApplicationError) and cause.type == "Undeliverable":
            self._skip(step_id, channel, "undeliverable", cause.message)
            return "skipped"
        workflow.logger.warning(
            "not delivered before the window closed; deferring",
            extra={**self._log_fields(), "channel": channel},
        )
        return None

    def _delivered(
        self, step_id: str, channel: str, template: str, key: str, outcome: SendOutcome
    ) -> Sent:
        s = self.state
        if outcome.status == "paid":  # billing says the balance is cleared: not sent
            if outcome.maybe_delivered:
                self._skip(
                    step_id,
                    channel,
                    CALLED_OFF,
                    "billing said paid on a retry: an "
                    "earlier attempt may have reached the "
                    "customer",
                )
            s.settle(outcome.balance if outcome.balance is not None else Decimal(0))
            self._publish()
            return "stopped"
        if outcome.status == "suppressed":  # the store's consent said no: the last defence
            if outcome.detail.startswith("ceased"):
                s.ceased = True
            elif channel not in s.suppressed:
                s.suppressed.append(channel)
            self._skip(step_id, channel, "opted_out" if not s.ceased else "ceased", outcome.detail)
            return "skipped"
        if outcome.status == "rejected":
            self._skip(step_id, channel, "rejected", outcome.detail)
            return "skipped"
        if outcome.possible_duplicate:
            s.possible_duplicates += 1
        s.record_sent(
            SentMessage(
                step=step_id,
                channel=channel,
                template=template,
                at=self._sent_at(outcome),
                key=key,
                packs=self._packs(),
            )
        )
        workflow.logger.info(
            "sent",
            extra={**self._log_fields(), "channel": channel, "template": template, "key": key},
        )
        return "sent"

    def _schedule_for(self, step_id: str) -> PlanView | None:
        """The plan a plan's message shows (`workflows.plan`); None for any other."""
        return None

    def _sent_at(self, outcome: SendOutcome) -> datetime:
        """When a message went: since the rules patch, when the provider took it (as the
        store logged it, so this journey's caps and the account's later journeys' count
        the same moment); before, when the journey heard of it."""
        now = workflow.now()
        if self._rules and outcome.delivered_at is not None:
            return min(outcome.delivered_at, now)
        return now

    def _fields(self, file: str) -> dict[str, Any]:
        """The account fields the template reads (and what every message needs): a send
        carries those, not the whole account."""
        account = self.state.account.model_dump(mode="json")
        fields = self.journey.account_fields(file)
        return account if fields is None else project(account, fields | ESSENTIAL_FIELDS)

    def _transactional(self, message: Message, notice: bool) -> bool:
        """Whether `message` is transactional: it waits for the contact window, never for
        `min_gap` or the caps (`rapport.policy.schedule.transactional`). The designer's
        `transactional:` where the message says it; else the thank-you for a payment in
        full (`notice`), since the intake patch, so "ends paid" closes promptly."""
        said = getattr(message, "transactional", None)
        if said is not None:
            return bool(said)
        return notice and self._intake

    # --- the notices: thanks for a payment ---------------------------------------------------

    async def _thank_for_payment(self) -> None:
        notice = self.definition.on_paid
        if notice is not None and not self.state.ceased:
            self.state.begin("on_paid")
            await self._deliver("on_paid", notice.send, notice=True)
            self.state.finish("on_paid")

    async def _send_partial_notices(self) -> None:
        notice = self.definition.on_partial_payment
        while self.state.partial_notices_due > 0 and not self.state.stopped():
            if notice is not None:
                self.state.begin("on_partial_payment")
                await self._deliver("on_partial_payment", notice.send)
                self.state.finish("on_partial_payment")
            self.state.partial_notices_due -= 1
