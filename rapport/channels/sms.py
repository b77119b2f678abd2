"""SMS: a text to `customer.phone`; the customer opts out by replying STOP."""

from rapport.channels.base import ChannelSpec

SMS = ChannelSpec(
    name="sms",
    address=("customer", "phone"),
    opt_out="Reply STOP to opt out of texts.",
    opt_out_required=True,
    description="text messages, delivered by a Twilio-style API (provider twilio) or a webhook",
)

# The answer to a HELP reply, after the creditor's own contact line (`RAPPORT_SMS_HELP_CONTACT`).
HELP_ANSWER = "Reply STOP to stop texts."
DEFAULT_HELP_CONTACT = "Questions about your account? Call us on the number on your bill."
