"""Portal links: one opaque token per message, the same on every retry, short enough for
a text, and the identity check's answer is never kept in the clear."""

from __future__ import annotations

from rapport.security.links import LinkSigner, identity_check, normalise_answer, portal_links


def test_a_message_gets_one_short_opaque_token() -> None:
    signer = LinkSigner("s3cret")
    token = signer.token("respond", "A-1/early/v1/reminder/1")
    assert token == signer.token("respond", "A-1/early/v1/reminder/1")  # a retry
    assert token != signer.token("respond", "A-1/early/v1/reminder/2")
    assert token != LinkSigner("other").token("respond", "A-1/early/v1/reminder/1")
    assert len(token) == 16
    assert "A-1" not in token
    sms = portal_links("https://pay.example.com", token, "sms")
    assert set(sms.values()) == {f"https://pay.example.com/r/{token}"}
    assert len(sms["pay_now"]) <= 60
    email = portal_links("https://pay.example.com", token, "email")
    assert email["plan"] == f"https://pay.example.com/r/{token}/plan"
    assert email["opt_out"].endswith("/opt-out")


def test_the_identity_check_is_the_last_four_digits_or_the_email() -> None:
    assert identity_check("sms", "+15551234567") == ("phone_last4", "4567")
    assert identity_check("email", " Riley@Example.com") == ("email", "riley@example.com")
    assert identity_check("sms", None) is None
    assert normalise_answer("phone_last4", " 45-67 ") == "4567"
    signer = LinkSigner("s3cret")
    assert "4567" not in signer.check_hash("phone_last4", "4567")


def test_a_letter_or_a_push_asks_for_the_customers_phone_or_email_not_its_address() -> None:
    """A link in a letter asked for the last four digits of the postal address (its
    digits: the ZIP code's) under "the phone number we texted"; a push notification's,
    those of the account id, or nothing when it had fewer than four."""
    postal = "12 Main St, Springfield IL 62704"
    assert identity_check("letter", postal, "+12125550100") == ("phone_last4", "0100")
    assert identity_check("push", "A-1", None, "Riley@Example.com") == (
        "email",
        "riley@example.com",
    )
    assert identity_check("push", "A-12345") is None  # nothing to ask: the portal shows nothing
    assert identity_check("voice", "+15551234567") == ("phone_last4", "4567")


def test_answers_typed_on_any_keyboard_read_as_meant() -> None:
    assert normalise_answer("phone_last4", "\uff10\uff11\uff10\uff10") == "0100"  # fullwidth
    assert normalise_answer("phone_last4", "\u0660\u0661\u0660\u0660") == "0100"  # Arabic-Indic
    pasted = "\u200briley\uff20Example.com\u200f "  # zero-width space, fullwidth at, RLM
    assert normalise_answer("email", pasted) == "riley@example.com"


def test_an_address_with_an_international_domain_is_one_address_however_written() -> None:
    """A browser's email field sends riley@bücher.example as its DNS form: the check
    compared it with the address as billing wrote it, and it never matched."""
    kind, expected = identity_check("email", "Riley@Bücher.example") or ("", "")
    assert normalise_answer(kind, "riley@xn--bcher-kva.example") == expected
    assert normalise_answer(kind, "RILEY@BÜCHER.EXAMPLE") == expected
