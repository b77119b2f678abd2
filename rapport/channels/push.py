"""Push: a notification in the creditor's app, addressed by account id."""

from rapport.channels.base import ChannelSpec

PUSH = ChannelSpec(
    name="push",
    address=("account_id",),
    opt_out="You can turn these notifications off in the app's settings.",
    description="app notifications, sent through a webhook to the app's push service",
)
