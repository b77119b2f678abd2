"""SMS keywords as customers really type them."""

from __future__ import annotations

import pytest

from rapport.compliance.keywords import keyword

OPT_OUTS = [
    "STOP",
    "stop",
    "Stop.",
    "STOP!",
    " stop ",
    '"Stop"',
    "STOP ALL",
    "stop all",
    "StopAll",
    "STOPALL",
    "ＳＴＯＰ",
    "Ｓｔｏｐ．",
    "UNSUBSCRIBE",
    "Unsubscribe.",
    "cancel",
    "END",
    "Quit",
    "revoke",
    "opt out",
    "Opt-Out",
    "OPT_OUT",
    "optout",
    "OptOut!",
    "stop\n",
]


@pytest.mark.parametrize("reply", OPT_OUTS)
def test_every_way_of_saying_stop_opts_out(reply: str) -> None:
    assert keyword(reply) == "opt_out"


@pytest.mark.parametrize("reply", ["START", "start.", "Unstop", "ＳＴＡＲＴ"])
def test_start_and_unstop_opt_back_in(reply: str) -> None:
    assert keyword(reply) == "opt_in"


@pytest.mark.parametrize("reply", ["HELP", "help?", "Help!"])
def test_help_is_answered(reply: str) -> None:
    assert keyword(reply) == "help"


@pytest.mark.parametrize(
    "reply",
    [
        "please don't stop calling",
        "stopped",
        "I will pay at the end",
        "stop by tomorrow",
        "",
        "thanks",
    ],
)
def test_a_sentence_is_not_a_keyword(reply: str) -> None:
    assert keyword(reply) is None
