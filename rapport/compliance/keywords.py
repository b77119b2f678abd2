"""SMS keywords a customer replies with (CTIA's short-code guidelines; the TCPA treats a
text after a revoked consent as a violation, per message), in every language we answer.

A reply is matched after Unicode NFKC (full-width `ＳＴＯＰ` is `STOP`), case folding,
trimming punctuation and collapsing spaces, so `Stop.`, `stop all`, `"Opt-out"` and
`UNSTOP!` all count. Only the whole reply is matched: "please don't stop calling" is
not an opt-out.

`WORDS` is the table: one row per word, with what it means and its language (the HELP
answer goes back in the language it was asked in). Besides English and Spanish (the
languages Rapport writes in), a few unmistakable stop requests in other languages opt
out too; docs/consent.md lists them and says how to add a language.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

Keyword = Literal["opt_out", "opt_in", "help"]


@dataclass(frozen=True)
class Word:
    text: str  # as compared: case folded, no punctuation, single spaces
    means: Keyword
    language: str


def _rows(means: Keyword, language: str, *texts: str) -> tuple[Word, ...]:
    return tuple(Word(text, means, language) for text in texts)


WORDS: tuple[Word, ...] = (
    *_rows("opt_out", "en", "stop", "stop all", "stopall", "unsubscribe", "cancel", "end"),
    *_rows("opt_out", "en", "quit", "revoke", "opt out", "optout"),
    *_rows("opt_in", "en", "start", "unstop"),
    *_rows("help", "en", "help"),
    # Spanish (the contract's words, and the HELP answer in Spanish)
    *_rows("opt_out", "es", "alto", "parar", "pare", "baja", "cancelar", "detener"),
    *_rows("help", "es", "ayuda"),
    # Clear stop requests in other languages (an opt-out, answered in English)
    *_rows("opt_out", "fr", "arrêt", "arret", "arrête", "arrêter", "désabonner", "desabonner"),
    *_rows("opt_out", "de", "stopp", "abmelden", "abbestellen"),
    *_rows("opt_out", "it", "basta", "annulla", "disiscrivi"),
    *_rows("opt_out", "pt", "sair", "cancelar inscrição"),
)
_BY_TEXT = {word.text: word for word in WORDS}
_PUNCTUATION = re.compile(r"[^\w\s]+")
_SPACES = re.compile(r"[\s_]+")


def normalised(reply: str) -> str:
    """The reply as keywords are compared: NFKC, case folded, punctuation (a hyphen
    included) turned to spaces, runs of spaces collapsed, ends trimmed."""
    text = unicodedata.normalize("NFKC", reply).casefold()
    return _SPACES.sub(" ", _PUNCTUATION.sub(" ", text)).strip()


def said(reply: str) -> Word | None:
    """The keyword the whole reply is, with its language; None for any other reply."""
    return _BY_TEXT.get(normalised(reply))


def keyword(reply: str) -> Keyword | None:
    word = said(reply)
    return word.means if word is not None else None
