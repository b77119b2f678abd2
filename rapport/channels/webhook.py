"""Webhook: a signed JSON message to the creditor's own system, addressed by account id."""

from rapport.channels.base import ChannelSpec

WEBHOOK = ChannelSpec(
    name="webhook",
    address=("account_id",),
    opt_out="To stop these messages, visit {opt_out}",
    description="a signed JSON POST to a system of the creditor's",
)
