"""What every channel says about itself."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rapport.channels.speech import say


@dataclass(frozen=True)
class ChannelSpec:
    name: str
    address: tuple[str, ...]
    """Where the customer's address for this channel is in the account (e.g. customer.phone)."""
    opt_out: str
    """How a customer stops this channel, as a message says it; `{opt_out}` and
    `{contact_us}` are replaced by the customer's links."""
    description: str = ""
    opt_out_required: bool = False
    """Every message on this channel must carry its opt-out line (the validator and the
    send activity check it): email and SMS, as Regulation F 1006.6(e) asks."""

    def opt_out_text(self, links: Mapping[str, str], locale: str | None = None) -> str:
        """The opt-out line in the customer's language (`locale`; English without one)."""
        return say(self.opt_out, locale).format(**links)
