"""Voice: a call to `customer.phone`, placed by a dialer behind a webhook; capped by law."""

from rapport.channels.base import ChannelSpec

VOICE = ChannelSpec(
    name="voice",
    address=("customer", "phone"),
    opt_out="To stop these calls, say 'stop calling' or press 9.",
    description="calls, placed by a dialer that receives a webhook",
)
