"""Delivering a message under the whole policy: where the engine keeps its promises.

Consent, opt-outs, a cease, a hold, the caps, the gap and the contact window are
decided here from the workflow's own state, so they hold across crashes, restarts
and redeliveries.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Literal

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from rapport.language.models import Message
from rapport.language.templates import template_file
from rapport.policy.caps import Delivery, cap_blocks
from rapport.policy.schedule import earliest_send
from rapport.policy.window import closing
from workflows.legacy.core import JourneyCore
from workflows.legacy.models import (
    PaymentCheck,
    PaymentStatus,
    PlanOffered,
    SendRequest,
    SendResult,
    SentMessage,
)

ACTIVITY_TIMEOUT = timedelta(seconds=30)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))
# Deliveries retry until the contact window closes (schedule-to-close), then defer.
SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    non_retryable_error_types=["WindowClosed"],
)
MIN_SEND_TIME = timedelta(minutes=1)
SEND_HEARTBEAT = timedelta(seconds=10)  # a dead worker's delivery is retried after this

Sent = Literal["sent", "stopped", "skipped", "retry"]


class JourneyDelivery(JourneyCore):
    async def _deliver(
        self, step_id: str, message: Message, plan: PlanOffered | None = None, notice: bool = False
    ) -> Sent:
        """Send on the message's channel, else on its fallback, under the whole policy."""
        result: Sent = "skipped"
        for channel in message.channels():
            reason = self.state.unusable(channel)
            if reason is not None:
                self._skip(step_id, channel, reason)
                continue
            result = await self._send_on(channel, step_id, message, plan, notice)
            if result != "skipped":
                return result
        return result

    async def _send_on(
        self, channel: str, step_id: str, message: Message, plan: PlanOffered | None, notice: bool
    ) -> Sent:
        state = self.state
        stop: Callable[[], bool] = (lambda: state.ceased) if notice else state.stopped
        policy = self.definition.policy
        while True:
            if stop():
                return "stopped"
            reason = state.unusable(channel)
            if reason is not None:
                self._skip(step_id, channel, reason)
                return "skipped"
            if state.paused or state.disputed:
                self._mode = "paused"
                self._publish()
                await workflow.wait_condition(
                    lambda: stop() or not (state.paused or state.disputed)
                )
                continue
            now = workflow.now()
            if policy.on_cap == "skip" and cap_blocks(now, channel, policy.caps, state.ledger):
                self._skip(step_id, channel, "cap")
                return "skipped"
            at = earliest_send(now, channel, policy, self._timezone, state.ledger)
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

    async def _send_now(
        self, channel: str, step_id: str, message: Message, plan: PlanOffered | None
    ) -> Sent:
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
                SendRequest(
                    idempotency_key=key,
                    step=step_id,
                    channel=channel,
                    template=template,
                    templates=dict(templates.sources),
                    account=s.account,
                    balance=s.balance,
                    sent_at=now,
                    plan=plan,
                    deliver_by=deliver_by,
                ),
                result_type=SendResult,
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                schedule_to_close_timeout=max(deliver_by - now, MIN_SEND_TIME),
                heartbeat_timeout=SEND_HEARTBEAT,
                retry_policy=SEND_RETRY,
            )
        except ActivityError as error:
            workflow.logger.warning(
                "not delivered before the window closed; deferring",
                extra={
                    **self._log_fields(),
                    "channel": channel,
                    "error": str(error.cause or error),
                },
            )
            return "retry"
        if result.status == "rejected":
            self._skip(step_id, channel, "rejected", result.detail)
            return "skipped"
        if result.possible_duplicate:
            s.possible_duplicates += 1
        now = workflow.now()  # the attempt that delivered has just finished
        s.ledger.append(Delivery(at=now, channel=channel))
        s.sent.append(
            SentMessage(step=step_id, channel=channel, template=template, at=now, key=key)
        )
        workflow.logger.info(
            f"sent {template} by {channel} ({key})",
            extra={**self._log_fields(), "channel": channel, "template": template, "key": key},
        )
        return "sent"

    async def _balance_is_zero(self) -> bool:
        status = await workflow.execute_activity(
            "check_payment_status",
            PaymentCheck(
                account_id=self.state.account.account_id,
                known_balance=self.state.balance,
                opening_balance=self.state.account.balance,
            ),
            result_type=PaymentStatus,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
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
        while self.state.partial_notices_due > 0 and not self.state.stopped():
            self.state.partial_notices_due -= 1
            if notice is not None:
                self.state.occurrence("on_partial_payment")
                await self._deliver("on_partial_payment", notice.send)
