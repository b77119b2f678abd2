"""Where a customer may be: every possible time zone, and the public holidays of their
country and region (the pure functions the send decision will use)."""

from __future__ import annotations

from datetime import date
from zoneinfo import available_timezones

from rapport.compliance.calendars import holiday
from rapport.compliance.zones import (
    COUNTRY_ZONES,
    REGION_ZONES,
    phone_number_zones,
    possible_zones,
)


def test_a_new_york_number_with_a_california_address_may_be_in_either_zone() -> None:
    zones = possible_zones("America/Los_Angeles", "US", "US-CA", "+12125550100")
    assert zones == ("America/Los_Angeles", "America/New_York")


def test_the_stated_zone_comes_first_and_nothing_repeats() -> None:
    assert possible_zones("America/New_York", "US", "US-NY", "+12125550100") == (
        "America/New_York",
    )
    assert possible_zones("Europe/Dublin", "IE") == ("Europe/Dublin",)
    assert possible_zones("America/Chicago", "US", "US-TX")[1:] == ("America/Denver",)
    assert possible_zones("UTC", None, None, "not a number") == ("UTC",)


def test_a_number_that_does_not_place_the_customer_adds_no_zone() -> None:
    assert phone_number_zones("+18005550100") == ()  # toll-free: anywhere in the plan
    assert phone_number_zones("+61412345678") == ()  # an Australian mobile: any state
    assert phone_number_zones("+15555550100") == ()  # not a real number
    assert phone_number_zones("+14155550100") == ("America/Los_Angeles",)
    assert phone_number_zones("+35312345678") == ("Europe/Dublin",)  # not London's name


def test_every_zone_in_the_tables_is_a_real_zone() -> None:
    known = available_timezones()
    for zones in [*REGION_ZONES.values(), *COUNTRY_ZONES.values()]:
        assert set(zones) <= known, zones


def test_public_holidays_by_country_and_region() -> None:
    assert holiday(date(2028, 3, 17), "IE") == "Saint Patrick's Day"
    assert holiday(date(2028, 3, 16), "IE") is None
    assert holiday(date(2028, 4, 17), "US", "US-MA") == "Patriots' Day"
    assert holiday(date(2028, 4, 17), "US", "US-NY") is None
    assert holiday(date(2028, 7, 1), "CA", "CA-ON") == "Canada Day"
    assert holiday(date(2028, 1, 1), "ZZ") is None  # a country the calendar does not know
