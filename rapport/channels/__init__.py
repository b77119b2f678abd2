"""The channels a journey can send on: one module each, saying what a message on it needs.

A channel needs the customer's address for it (a path into the account) and consent;
it says how a customer stops it (the opt-out line templates render). Which provider
delivers it is a setting (`RAPPORT_CHANNEL_<NAME>`, see `rapport.providers`).

To add a channel: write its module here and add it to `CHANNELS` (with
`opt_out_required=True` if every message on it must carry its opt-out line, and its
opt-out line's translations in `locales/`). Nothing else changes:
the language, the settings, the validator and the workflow read this registry.
"""

from __future__ import annotations

from rapport.channels.base import ChannelSpec
from rapport.channels.email import EMAIL
from rapport.channels.letter import LETTER
from rapport.channels.push import PUSH
from rapport.channels.sms import SMS
from rapport.channels.voice import VOICE
from rapport.channels.webhook import WEBHOOK

CHANNELS: dict[str, ChannelSpec] = {c.name: c for c in (EMAIL, SMS, VOICE, LETTER, PUSH, WEBHOOK)}
NAMES: tuple[str, ...] = tuple(CHANNELS)

__all__ = ["CHANNELS", "NAMES", "ChannelSpec"]
