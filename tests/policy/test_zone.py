"""Recorded zone rules give the tz database's answers, across DST changes, odd offsets and
folds; the window math gives the same instants with either; deferred sends are spread."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rapport.language.models import ContactWindow, Policy
from rapport.policy.schedule import SPREAD, earliest_send, spread_for
from rapport.policy.window import next_opening
from rapport.policy.zone import LiveZone, rules_for

START = datetime(2028, 1, 1, tzinfo=UTC)
ZONES = [
    "America/New_York",
    "Europe/London",
    "Asia/Tokyo",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Asia/Kathmandu",
    "America/Santiago",
    "UTC",
]
RULES = {name: rules_for(name, START) for name in ZONES}
instants = st.datetimes(
    min_value=datetime(2028, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
walls = st.datetimes(min_value=datetime(2028, 1, 1), max_value=datetime(2028, 12, 31))


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(ZONES), at=instants, wall=walls)
def test_recorded_rules_answer_as_the_tz_database(name: str, at: datetime, wall: datetime) -> None:
    live, rules = LiveZone(name), RULES[name]
    assert rules.utcoffset(at) == live.utcoffset(at)
    assert rules.to_utc(wall) == live.to_utc(wall)


@pytest.mark.parametrize("wall", ["2028-03-12T02:30", "2028-11-05T01:30"])  # gap, fold
def test_gap_and_fold_in_new_york(wall: str) -> None:
    naive = datetime.fromisoformat(wall)
    name = "America/New_York"
    assert RULES[name].to_utc(naive) == LiveZone(name).to_utc(naive)


def test_the_window_opens_at_the_same_instant_with_recorded_rules() -> None:
    for name in ZONES:
        for day in range(0, 360, 7):
            at = START + timedelta(days=day, hours=3)
            args = (time(8), time(21), ["mon", "tue", "wed", "thu", "fri"])
            assert next_opening(at, RULES[name], *args) == next_opening(at, name, *args)


def test_rules_hold_a_handful_of_offsets_for_a_year() -> None:
    assert len(RULES["America/New_York"].offsets) == 3  # EST, EDT, EST again
    assert len(RULES["Asia/Tokyo"].offsets) == 1
    assert len(RULES["America/New_York"].model_dump_json()) < 400


def test_deferred_sends_spread_over_the_first_minutes_stably() -> None:
    policy = Policy(contact_window=ContactWindow(start=time(8), end=time(21)))
    night = datetime(2028, 3, 1, 7, 0, tzinfo=UTC)  # 02:00 in New York
    opens = datetime(2028, 3, 1, 13, 0, tzinfo=UTC)
    wakes = {
        earliest_send(night, "sms", policy, "America/New_York", [], spread_for(f"A-{i}"))
        for i in range(200)
    }
    assert all(opens <= w < opens + SPREAD for w in wakes)
    assert len(wakes) > 100  # not all in one second
    assert spread_for("A-1") == spread_for("A-1")
    inside = datetime(2028, 3, 1, 15, 0, tzinfo=UTC)
    assert (
        earliest_send(inside, "sms", policy, "America/New_York", [], spread_for("A-1")) == inside
    )  # nothing moves a send that may go
