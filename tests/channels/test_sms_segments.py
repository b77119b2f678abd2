"""SMS segments as carriers bill them, and the validator's warning over a journey's limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from rapport.channels.sms import sms_length
from rapport.language.loader import load_journey
from tests.journey_files import BASE, problems_of, write_journey


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("", "GSM-7", 0),
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("€" * 80, "GSM-7", 1),  # the extension table counts double
        ("€" * 81, "GSM-7", 2),
        ("[]" * 40 + "a", "GSM-7", 2),
        ("a" * 152 + "^" + "a" * 152, "GSM-7", 3),  # an escape pair is never split
        ("ñ é ü ¿¡" * 20, "GSM-7", 1),  # in the GSM alphabet
        ("á" * 70, "UCS-2", 1),
        ("á" * 71, "UCS-2", 2),
        ("á" * 134, "UCS-2", 2),
        ("á" * 135, "UCS-2", 3),
        ("😀" * 35, "UCS-2", 1),  # two UTF-16 units each
        ("😀" * 36, "UCS-2", 2),
    ],
)
def test_segments(text: str, encoding: str, segments: int) -> None:
    length = sms_length(text)
    assert (length.encoding, length.segments) == (encoding, segments)


def test_the_characters_that_force_ucs2_are_named() -> None:
    length = sms_length("Hola, qué tal: ¿pagará hoy?")
    assert length.outside_gsm7 == ("á",)
    assert length.describe() == ("1 segment (UCS-2, 27 characters; 'á' not in the GSM-7 alphabet)")


LONG = "Hi {{ customer.first_name }}. " + "This is a very long text. " * 12 + "{{ opt_out }}"
SPANISH = (
    "Hola {{ customer.first_name }}: le recordamos que su saldo de {{ balance }} está "
    "pendiente. Puede pagarlo en línea, acordar un plan de pagos o hablar con nosotros; "
    "estamos aquí para ayudarle. {{ links.pay_now }} {{ opt_out }}"
)


def test_a_long_text_is_a_warning_naming_its_segments(tmp_path: Path) -> None:
    journey = load_journey(write_journey(tmp_path, templates={"nudge.sms.j2": LONG}))
    [warning] = journey.warnings
    assert warning.severity == "warning"
    assert Path(warning.file).name == "nudge.sms.j2"
    assert warning.message.startswith("this text is 3 segments (GSM-7, ")
    assert "the journey allows 2 (policy.sms_max_segments)" in warning.message


def test_accents_in_a_spanish_text_are_counted(tmp_path: Path) -> None:
    journey = load_journey(write_journey(tmp_path, templates={"nudge.es.sms.j2": SPANISH}))
    [warning] = journey.warnings
    assert Path(warning.file).name == "nudge.es.sms.j2"
    assert warning.message.startswith("this text is 4 segments (UCS-2, ")
    assert "'á'" in warning.message


def test_the_journey_sets_its_own_limit(tmp_path: Path) -> None:
    text = BASE.replace("segments:", "policy: {sms_max_segments: 3}\nsegments:")
    path = write_journey(tmp_path, text, templates={"nudge.sms.j2": LONG})
    assert load_journey(path).warnings == ()
    broken = write_journey(
        tmp_path, BASE.replace("segments:", "policy: {sms_max_segments: 0}\nsegments:")
    )
    [problem] = problems_of(broken)
    assert (problem.field, problem.message) == (
        "policy.sms_max_segments",
        "0 is too small: at least 1",
    )


def test_amounts_in_a_text_keep_to_the_gsm_alphabet() -> None:
    """French and Spanish put a no-break space in amounts; in a text it would make the whole
    message UCS-2 (twice the segments): texts get a plain space, emails keep theirs."""
    from decimal import Decimal

    from rapport.language.context import message_context
    from rapport.language.samples import sample_account

    account = sample_account("fr")
    links = {"opt_out": "https://example.com/o", "contact_us": "https://example.com/c"}
    sms = message_context(account, Decimal("1234.50"), "sms", links)
    email = message_context(account, Decimal("1234.50"), "email", links)
    assert sms["balance"] == "1 234,50 $US"
    assert email["balance"] == "1\u202f234,50\xa0$US"
    assert sms_length(f"Solde : {sms['balance']}").encoding == "GSM-7"
