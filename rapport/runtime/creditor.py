"""Who the customer deals with, from the settings: the creditor's name, phone number,
the hours a person answers it (in the creditor's time zone) and, when set, an email
address. The portal shows them on every page after the identity check and on the
pages that send the customer to the phone (a locked link, a link that no longer works).

`RAPPORT_CREDITOR_HOURS` reads as people write opening hours: day ranges and times,
comma-separated (`mon-fri 08:00-20:00, sat 09:00-13:00`); the portal writes them in
the customer's language (`Monday to Friday, 8:00 AM to 8:00 PM (Eastern Time)`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from rapport.language.types import WEEKDAYS

DAYS: tuple[str, ...] = WEEKDAYS  # 0 is Monday
DEMO_PHONE = "+1 800 555 0100"  # a fictional number (555-01xx)
_OPENING = re.compile(
    r"^(?P<first>[a-z]{3})(?:-(?P<last>[a-z]{3}))?\s+"
    r"(?P<opens>\d{1,2}:\d{2})-(?P<closes>\d{1,2}:\d{2})$"
)


class BadContact(ValueError):
    """A creditor setting that cannot be shown to customers; the message names it."""


@dataclass(frozen=True)
class Opening:
    """Days `first` to `last` (0 is Monday), from `opens` to `closes`."""

    first: int
    last: int
    opens: time
    closes: time


@dataclass(frozen=True)
class Creditor:
    name: str
    phone: phonenumbers.PhoneNumber
    hours: tuple[Opening, ...]
    timezone: ZoneInfo
    email: str | None = None

    @property
    def phone_e164(self) -> str:
        """For `tel:` links: `+18005550100`."""
        return phonenumbers.format_number(self.phone, phonenumbers.PhoneNumberFormat.E164)

    def phone_for(self, region: str | None) -> str:
        """The number as a caller in `region` dials it: national there, else international."""
        national = region and phonenumbers.region_code_for_number(self.phone) == region.upper()
        style = (
            phonenumbers.PhoneNumberFormat.NATIONAL
            if national
            else phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
        return phonenumbers.format_number(self.phone, style)


def creditor(name: str, phone: str, hours: str, timezone: str, email: str | None) -> Creditor:
    """The creditor from its settings; BadContact naming the setting that is wrong."""
    return Creditor(
        name.strip(),
        parse_phone(phone),
        parse_hours(hours),
        parse_zone(timezone),
        (email or "").strip() or None,
    )


def contact_problems(phone: str, hours: str, timezone: str) -> list[str]:
    """Every creditor setting that is wrong, one line each."""
    found = []
    for parse, value in ((parse_phone, phone), (parse_hours, hours), (parse_zone, timezone)):
        try:
            parse(value)
        except BadContact as problem:
            found.append(str(problem))
    return found


def parse_phone(text: str) -> phonenumbers.PhoneNumber:
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise BadContact(
            f"RAPPORT_CREDITOR_PHONE={text!r} is not a phone number in international form "
            "(such as +1 800 555 0100)"
        )
    return number


def parse_hours(text: str) -> tuple[Opening, ...]:
    """`mon-fri 08:00-20:00, sat 09:00-13:00` -> its openings."""
    openings = []
    for part in (p.strip().lower() for p in text.split(",")):
        found = _OPENING.match(part)
        try:
            if found is None:
                raise ValueError
            first, last = DAYS.index(found["first"]), DAYS.index(found["last"] or found["first"])
            opens = time.fromisoformat(found["opens"].zfill(5))
            closes = time.fromisoformat(found["closes"].zfill(5))
        except ValueError:
            raise BadContact(
                f"RAPPORT_CREDITOR_HOURS: {part!r} is not days and hours such as "
                "'mon-fri 08:00-20:00' (days mon, tue, wed, thu, fri, sat, sun)"
            ) from None
        if last < first or closes <= opens:
            raise BadContact(
                f"RAPPORT_CREDITOR_HOURS: {part!r} ends before it starts (write the days "
                "from Monday on, and the hours within one day)"
            )
        openings.append(Opening(first, last, opens, closes))
    return tuple(openings)


def parse_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadContact(
            f"RAPPORT_CREDITOR_TIMEZONE={name!r} is not a time zone such as America/New_York"
        ) from None
