"""Addresses as consent is kept for them: a phone number in E.164, an email address
trimmed and lower-cased. The same person typed two ways is one address."""

from __future__ import annotations

import re

_PHONE_NOISE = re.compile(r"[\s().\-/]")
_E164 = re.compile(r"\+[1-9][0-9]{7,14}")


class BadAddress(ValueError):
    pass


def phone(number: str) -> str:
    """`+1 (212) 555-0100` → `+12125550100`; a number without its country code is refused
    (guessing one could suppress, or text, the wrong person)."""
    compact = _PHONE_NOISE.sub("", number.strip())
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not _E164.fullmatch(compact):
        raise BadAddress(
            f"{number!r} is not a phone number in international form (+ and 8-15 digits)"
        )
    return compact


def email(address: str) -> str:
    """Trimmed and lower-cased: providers treat the local part case-insensitively in
    practice, and an opt-out must not miss `Robin@Example.com`."""
    value = address.strip().lower()
    if (
        value.count("@") != 1
        or value.startswith("@")
        or value.endswith("@")
        or any(c.isspace() for c in value)
    ):
        raise BadAddress(f"{address!r} is not an email address")
    return value


def normalised(address: str) -> str | None:
    """The address as consent is kept for it (a phone number or an email address); None
    when it is neither."""
    for form in (phone, email):
        try:
            return form(address)
        except BadAddress:
            continue
    return None
