"""A scenario's start, relative to now so that a scenario never expires."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rapport.simulation.start import StartInPast, parse_start

NOW = datetime(2031, 6, 4, 15, 20, tzinfo=UTC)  # a Wednesday; 11:20 in New York
NY = "America/New_York"


@pytest.mark.parametrize(
    ("written", "starts"),
    [
        ("+0d", "2031-06-04T15:20:00+00:00"),
        ("+2d3h", "2031-06-06T18:20:00+00:00"),
        ("+1d 07:30", "2031-06-05T11:30:00+00:00"),  # tomorrow 07:30 New York time
        ("+0d 18:00", "2031-06-04T22:00:00+00:00"),  # later today
        ("next wed 07:30", "2031-06-11T11:30:00+00:00"),  # a week on: never today
        ("next thu 19:00", "2031-06-05T23:00:00+00:00"),
        ("next mon 09:00", "2031-06-09T13:00:00+00:00"),
        ("2031-07-01T09:00", "2031-07-01T13:00:00+00:00"),
    ],
)
def test_starts(written: str, starts: str) -> None:
    assert parse_start(written, NY).at(NOW, NY).isoformat() == starts


def test_a_start_the_clock_has_passed_says_how_to_write_one_that_does_not_expire() -> None:
    with pytest.raises(StartInPast, match=r"write a start relative to now, such as \+0d"):
        parse_start("2028-03-01T07:30", NY).at(NOW, NY)
    with pytest.raises(StartInPast, match=r"use \+1d 07:30"):
        parse_start("+0d 07:30", NY).at(NOW, NY)


@pytest.mark.parametrize("written", ["tomorrow", "+3 days", "next wednesday 07:30", "+1d 25:00"])
def test_what_is_not_a_start(written: str) -> None:
    with pytest.raises(ValueError, match="is not a start: write 2028-03-01T07:30, \\+0d"):
        parse_start(written)
