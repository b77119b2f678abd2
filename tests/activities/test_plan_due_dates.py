"""A plan's due dates moved off the days the account's rule packs close (the shipped
packs, the `holidays` calendars): never earlier than agreed, each after the one before,
and why, for the schedule's `moved_from`."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from activities.plans import PlanActivities
from rapport.compliance.table import load_rulebook
from rapport.contract.activities import PlanDates

RULES = Path(__file__).resolve().parents[2] / "journeys" / "rules"


def moved(dates: list[date], channels: list[str], country: str = "IE") -> list[tuple]:  # type: ignore[type-arg]
    found = PlanActivities(load_rulebook(RULES))._moved(
        PlanDates(dates=dates, country=country, region=None, channels=channels)
    )
    return [(d.due, d.moved_from, d.why) for d in found.dues]


def test_a_sunday_and_christmas_move_to_the_next_open_day_for_calls_in_ireland() -> None:
    sunday, christmas = date(2026, 12, 6), date(2026, 12, 25)
    (first, second) = moved([sunday, christmas], ["voice"])
    assert first[:2] == (date(2026, 12, 7), sunday)
    assert first[2] is not None
    assert "Sundays are closed" in first[2]
    due, moved_from, why = second
    assert moved_from == christmas
    assert due > date(2026, 12, 27)  # St Stephen's Day, then a Sunday
    assert why is not None
    assert "public holiday" in why


def test_channels_the_packs_do_not_close_keep_their_dates() -> None:
    dates = [date(2026, 12, 6), date(2026, 12, 25)]
    assert moved(dates, ["sms", "email"]) == [(d, None, None) for d in dates]


def test_a_date_moved_onto_the_next_stays_after_it() -> None:
    """Weekly dates over Christmas: the moved one never lands on or before the next."""
    dates = [date(2026, 12, 25), date(2026, 12, 26), date(2026, 12, 27)]
    dues = [due for due, _, _ in moved(dates, ["voice"])]
    assert dues == sorted(set(dues))
    assert all(due >= planned for due, planned in zip(dues, dates, strict=True))
