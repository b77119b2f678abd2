"""Letter: printed and posted by a letter house, to `attributes.postal_address`."""

from rapport.channels.base import ChannelSpec

LETTER = ChannelSpec(
    name="letter",
    address=("attributes", "postal_address"),
    opt_out="To stop letters, tell us at {contact_us}",
    description="letters, printed by a letter house that receives a webhook",
)
