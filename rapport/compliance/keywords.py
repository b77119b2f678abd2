"""SMS keywords a customer replies with (CTIA's short-code guidelines; the TCPA treats a
text after a revoked consent as a violation, per message).

A reply is matched after Unicode NFKC (full-width `ＳＴＯＰ` is `STOP`), case folding,
trimming punctuation and collapsing spaces, so `Stop.`, `stop all`, `"Opt-out"` and
`UNSTOP!` all count. Only the whole reply is matched: "please don't stop calling" is
not an opt-out.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

Keyword = Literal["opt_out", "opt_in", "help"]

OPT_OUT_WORDS = frozenset(
    {
        "stop",
        "stop all",
        "stopall",
        "unsubscribe",
        "cancel",
        "end",
        "quit",
        "revoke",
        "opt out",
        "optout",
    }
)
OPT_IN_WORDS = frozenset({"start", "unstop"})
HELP_WORDS = frozenset({"help"})
_PUNCTUATION = re.compile(r"[^\w\s]+")
_SPACES = re.compile(r"[\s_]+")


def normalised(reply: str) -> str:
    """The reply as keywords are compared: NFKC, case folded, punctuation (a hyphen
    included) turned to spaces, runs of spaces collapsed, ends trimmed."""
    text = unicodedata.normalize("NFKC", reply).casefold()
    return _SPACES.sub(" ", _PUNCTUATION.sub(" ", text)).strip()


def keyword(reply: str) -> Keyword | None:
    words = normalised(reply)
    if words in OPT_OUT_WORDS:
        return "opt_out"
    if words in OPT_IN_WORDS:
        return "opt_in"
    if words in HELP_WORDS:
        return "help"
    return None


def is_opt_out(reply: str) -> bool:
    return keyword(reply) == "opt_out"
