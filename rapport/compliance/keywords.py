"""SMS keywords a customer replies with (CTIA guidelines; the TCPA treats a text after a
revoked consent as a violation)."""

from __future__ import annotations

OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT",
                           "REVOKE"})


def is_opt_out(reply: str) -> bool:
    return reply.strip().upper() in OPT_OUT_WORDS
