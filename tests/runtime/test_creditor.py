"""The creditor's contact details from the settings: a phone number in international
form, opening hours as people write them, a real time zone; anything else is one line
naming the setting before anything starts (any environment)."""

from __future__ import annotations

from datetime import time

from rapport.runtime.creditor import Opening
from rapport.runtime.settings import Settings


def test_hours_read_as_people_write_them() -> None:
    creditor = Settings(
        creditor_phone="+44 20 7946 0000",
        creditor_hours="Mon-Fri 8:00-20:00, sat 09:30-13:00",
        creditor_timezone="Europe/London",
    ).creditor()
    assert creditor.hours == (
        Opening(0, 4, time(8), time(20)),
        Opening(5, 5, time(9, 30), time(13)),
    )
    assert creditor.phone_for("GB") == "020 7946 0000"
    assert creditor.phone_for("US") == "+44 20 7946 0000"
    assert creditor.phone_e164 == "+442079460000"


def test_each_bad_creditor_setting_is_one_line() -> None:
    problems = Settings(
        creditor_phone="call us",
        creditor_hours="weekdays 9 to 5",
        creditor_timezone="Mars/Olympus",
    ).problems()
    assert problems == sorted(
        [
            "RAPPORT_CREDITOR_PHONE='call us' is not a phone number in international form "
            "(such as +1 800 555 0100)",
            "RAPPORT_CREDITOR_HOURS: 'weekdays 9 to 5' is not days and hours such as "
            "'mon-fri 08:00-20:00' (days mon, tue, wed, thu, fri, sat, sun)",
            "RAPPORT_CREDITOR_TIMEZONE='Mars/Olympus' is not a time zone such as America/New_York",
        ]
    )
    backwards = Settings(creditor_hours="fri-mon 08:00-20:00, sat 13:00-09:00").problems()
    assert backwards == [
        "RAPPORT_CREDITOR_HOURS: 'fri-mon 08:00-20:00' ends before it starts (write the days "
        "from Monday on, and the hours within one day)"
    ]
