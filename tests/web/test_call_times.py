"""The times a customer may ask to be called follow the journey's contact window and
days, in the customer's zone (each labelled with it), never sooner than two hours."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal

from rapport.contract.journey import JourneyStatus
from rapport.language.models import ContactWindow, Policy
from rapport.web.portal.calls import call_times
from rapport.web.portal.speech import Speech


def status(timezone: str) -> JourneyStatus:
    return JourneyStatus(
        journey_id="j",
        journey_version=1,
        account_id="A-1",
        segment="default",
        step="s",
        state="waiting",
        next_action_at=None,
        balance=Decimal("10"),
        messages=[],
        skipped=[],
        handoffs=[],
        suppressed_channels=[],
        outcome=None,
        timezone=timezone,
    )


def test_times_fall_in_the_journeys_window_and_days_in_the_customers_zone() -> None:
    policy = Policy(
        contact_window=ContactWindow(start=time(9), end=time(17)),
        days=["mon", "tue", "wed", "thu", "fri"],
    )
    friday_11am_new_york = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)
    times = call_times(
        status("America/New_York"), policy, Speech.of("en-US", None), friday_11am_new_york
    )
    labels = [label for _, label in times]
    assert labels[:3] == [
        "Friday, December 4, 4:00\u202fPM EST",
        "Monday, December 7, 10:00\u202fAM EST",
        "Monday, December 7, 12:30\u202fPM EST",
    ]
    assert not [label for label in labels if "6:30" in label or "Saturday" in label]
    assert times[0][0] == "2026-12-04T21:00:00+00:00"
    assert len(times) == 6


def test_without_the_journeys_policy_the_laws_window_holds() -> None:
    times = call_times(
        status("Europe/Madrid"),
        Policy(),
        Speech.of("es-ES", None),
        datetime(2026, 12, 4, 19, 0, tzinfo=UTC),
    )  # 20:00 in Madrid
    assert times[0][1] == "sábado, 5 de diciembre, 10:00 CET"
