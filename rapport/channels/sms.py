"""SMS: a text to `customer.phone`; the customer opts out by replying STOP."""

from rapport.channels.base import ChannelSpec

SMS = ChannelSpec(
    name="sms",
    address=("customer", "phone"),
    opt_out="Reply STOP to opt out of texts.",
    opt_out_required=True,
    description="text messages, delivered by a Twilio-style API (provider twilio) or a webhook",
)
