"""The engine's own floors: what holds for every account, whatever the rule packs say
and whether or not a pack applies. The law behind each, with its citation, is in the
packs (`journeys/rules/`, `journey rules`); these are the engine's promises.

- the contact window never opens before 08:00 or closes after 21:00, customer-local (the
  journey language rejects a wider one);
- calls: at most 7 in any 7 days, whatever a definition says (the validator names
  Regulation F when a US journey asks for more);
- every email and text carries an opt-out line.
"""

from __future__ import annotations

from datetime import timedelta

from rapport.channels import CHANNELS
from rapport.language.checks import EARLIEST_CONTACT, LATEST_CONTACT
from rapport.language.models import Cap

VOICE_FLOOR = Cap(channel="voice", max=7, per=timedelta(days=7))
OPT_OUT_REQUIRED: frozenset[str] = frozenset(
    name for name, spec in CHANNELS.items() if spec.opt_out_required
)

__all__ = ["EARLIEST_CONTACT", "LATEST_CONTACT", "OPT_OUT_REQUIRED", "VOICE_FLOOR"]
