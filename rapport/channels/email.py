"""Email: to `customer.email`, with a visible opt-out link (and, for one-click
unsubscribe, list headers added by the provider)."""

from rapport.channels.base import ChannelSpec

EMAIL = ChannelSpec(
    name="email",
    address=("customer", "email"),
    opt_out="To stop emails about this account, visit {opt_out}",
    opt_out_required=True,
    description="email, delivered by SMTP (provider smtp) or a webhook",
)
