"""What an SMS reply becomes for the journeys of the number it came from.

One reading for the inbound webhook (`rapport.web.inbound`) and for scenarios'
`sms_reply` events, so a simulation answers a text exactly as production does. The
keywords are matched by `rapport.compliance.keywords` (STOP, ALTO, START, HELP, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from rapport.compliance.keywords import Keyword, said
from rapport.contract.payloads import Engagement, OptOut


@dataclass(frozen=True)
class ReplyMeaning:
    means: Keyword | None  # opt_out, opt_in, help, or None: an ordinary reply
    signal: str | None  # the signal it sends to the number's running journeys
    payload: BaseModel | None = None


def reply_meaning(text: str) -> ReplyMeaning:
    """An opt-out keyword opts the journeys out of SMS; any other reply that is no keyword
    counts as engagement; START (the consent book records it) and HELP (answered) send no
    signal."""
    word = said(text)
    means = word.means if word is not None else None
    if means == "opt_out":
        return ReplyMeaning(means, "opt_out", OptOut(channel="sms"))
    if means is None:
        return ReplyMeaning(None, "engagement", Engagement(kind="replied"))
    return ReplyMeaning(means, None)
