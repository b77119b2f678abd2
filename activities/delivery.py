"""`send_message` renders a template and hands it to a channel; `create_handoff`
asks a person to reach out. Secrets (the link key) stay here, out of history."""

from __future__ import annotations

from temporalio import activity

from activities.channels import ChannelRouter, Outgoing
from rapport.contracts import HandoffRequest, SendRequest, SendResult
from rapport.language.templates import TemplateBundle, TemplateProblem
from rapport.links import LinkSigner
from rapport.messages import message_context


class DeliveryActivities:
    def __init__(self, channels: ChannelRouter, signer: LinkSigner) -> None:
        self.channels = channels
        self.signer = signer

    @activity.defn(name="send_message")
    async def send_message(self, request: SendRequest) -> SendResult:
        address = request.account.address_for(request.channel)
        context = message_context(request.account, request.balance, request.channel,
                                  self.signer, request.sent_at, request.plan)
        try:
            rendered = TemplateBundle(request.templates).render(
                request.template, request.channel, context)
        except TemplateProblem as problem:
            return SendResult(status="rejected", detail=f"template_error: {problem}")
        item = Outgoing(
            key=request.idempotency_key, kind="message", channel=request.channel,
            account_id=request.account.account_id, to=address or "",
            at=request.sent_at.isoformat(), subject=rendered.subject, body=rendered.body,
            step=request.step, template=request.template,
        )
        receipt = await self.channels.for_channel(request.channel).deliver(item)
        return SendResult(status=receipt)

    @activity.defn(name="create_handoff")
    async def create_handoff(self, request: HandoffRequest) -> SendResult:
        item = Outgoing(
            key=request.idempotency_key, kind="handoff", channel="handoff",
            account_id=request.account.account_id, to=request.queue,
            at=request.at.isoformat(), subject=f"Reach out to {request.account.account_id}",
            body=request.summary, step=request.queue, template="",
        )
        receipt = await self.channels.for_channel("handoff").deliver(item)
        return SendResult(status=receipt)
