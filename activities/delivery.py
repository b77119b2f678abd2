"""`send_message` renders a template and hands it to a channel; `create_handoff`
asks a person to reach out. Secrets (the link key, provider credentials) stay
here, out of workflow history.

Failures are sorted here: a permanent one (bad number, rejected address) comes
back as `rejected` and the journey records a skip; a transient one raises, so
Temporal retries it with backoff, honouring a provider's Retry-After. No
attempt starts after `deliver_by`, so a retry never delivers outside the
contact window: the workflow defers the message and checks again.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity
from temporalio.exceptions import ApplicationError

from rapport.contract.activities import HandoffRequest, SendRequest, SendResult
from rapport.language.context import message_context
from rapport.language.templates import TemplateProblem, bundle_of
from rapport.providers.base import (
    Outgoing,
    PermanentFailure,
    Provider,
    Receipt,
    Router,
    TransientFailure,
)
from rapport.security.links import LINK_LIFETIME, LinkSigner

WINDOW_CLOSED = "WindowClosed"


class DeliveryActivities:
    def __init__(self, channels: Router, signer: LinkSigner) -> None:
        self.channels = channels
        self.signer = signer

    @activity.defn(name="send_message")
    async def send_message(self, request: SendRequest) -> SendResult:
        info = activity.info()
        attempt_at = info.current_attempt_scheduled_time
        if request.deliver_by is not None and attempt_at > request.deliver_by:
            raise ApplicationError("the contact window closed before this attempt",
                                   type=WINDOW_CLOSED, non_retryable=True)
        links = self.signer.links(request.account.account_id, request.sent_at + LINK_LIFETIME)
        context = message_context(request.account, request.balance, request.channel, links,
                                  request.plan)
        try:
            rendered = bundle_of(request.templates).render(
                request.template, request.channel, context)
        except TemplateProblem as problem:
            return SendResult(status="rejected", detail=f"template_error: {problem}")
        item = Outgoing(
            key=request.idempotency_key, kind="message", channel=request.channel,
            account_id=request.account.account_id,
            to=request.account.address_for(request.channel) or "",
            at=attempt_at.isoformat(), subject=rendered.subject, body=rendered.body,
            step=request.step, template=request.template,
        )
        channel = self.channels.for_channel(request.channel)
        try:
            receipt = await _deliver(channel, item)
        except PermanentFailure as failure:
            return SendResult(status="rejected", detail=failure.reason)
        return SendResult(status=receipt,
                          possible_duplicate=info.attempt > 1 and not channel.idempotent)

    @activity.defn(name="create_handoff")
    async def create_handoff(self, request: HandoffRequest) -> SendResult:
        item = Outgoing(
            key=request.idempotency_key, kind="handoff", channel="handoff",
            account_id=request.account.account_id, to=request.queue,
            at=request.at.isoformat(), subject=f"Reach out to {request.account.account_id}",
            body=request.summary, step=request.queue, template="",
        )
        try:
            receipt = await _deliver(self.channels.for_channel("handoff"), item)
        except PermanentFailure as failure:
            return SendResult(status="rejected", detail=failure.reason)
        return SendResult(status=receipt)


HEARTBEAT_EVERY = 2.0  # seconds; the workflow's heartbeat timeout is a few times this


async def _heartbeat() -> None:
    """Tell Temporal this attempt is alive, so a dead worker's attempt is retried within
    the heartbeat timeout instead of the whole start-to-close timeout."""
    while True:
        activity.heartbeat()
        await asyncio.sleep(HEARTBEAT_EVERY)


async def _deliver(channel: Provider, item: Outgoing) -> Receipt:
    """Deliver, turning a transient failure into a retryable activity error."""
    beat = asyncio.create_task(_heartbeat())
    try:
        return await channel.deliver(item)
    except TransientFailure as failure:
        delay = timedelta(seconds=failure.retry_after) if failure.retry_after else None
        raise ApplicationError(str(failure), type="TransientDelivery",
                               next_retry_delay=delay) from None
    finally:
        beat.cancel()
