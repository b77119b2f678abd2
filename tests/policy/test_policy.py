"""The pure policy math: windows across time zones and DST, caps, gaps."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from rapport.language.models import Cap, ContactWindow, Policy
from rapport.policy.caps import Delivery, cap_blocks, earliest_under_cap, prune
from rapport.policy.schedule import earliest_send
from rapport.policy.window import local, next_opening, to_utc

EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
NY, TOKYO = "America/New_York", "Asia/Tokyo"


def wall(text: str, zone: str) -> datetime:
    return to_utc(datetime.fromisoformat(text), zone)


def test_early_morning_defers_to_window_opening() -> None:
    at = wall("2028-03-01T06:10", NY)
    opens = next_opening(at, NY, time(8), time(21), EVERY_DAY)
    assert local(opens, NY).isoformat() == "2028-03-01T08:00:00-05:00"


def test_inside_window_is_now_and_late_evening_is_tomorrow() -> None:
    at = wall("2028-03-01T12:00", NY)
    assert next_opening(at, NY, time(8), time(21), EVERY_DAY) == at
    late = next_opening(wall("2028-03-01T21:00", NY), NY, time(8), time(21), EVERY_DAY)
    assert local(late, NY).isoformat() == "2028-03-02T08:00:00-05:00"


def test_dst_spring_forward_keeps_local_eight_oclock() -> None:
    # US clocks go forward on 2028-03-12: 08:00 local is 13:00 UTC before, 12:00 UTC after.
    before = next_opening(wall("2028-03-11T22:00", NY), NY, time(8), time(21), EVERY_DAY)
    after = next_opening(wall("2028-03-12T22:00", NY), NY, time(8), time(21), EVERY_DAY)
    assert before == datetime(2028, 3, 12, 12, 0, tzinfo=UTC)
    assert local(before, NY).hour == 8
    assert after == datetime(2028, 3, 13, 12, 0, tzinfo=UTC)


def test_tokyo_has_no_dst_and_a_big_offset() -> None:
    opens = next_opening(
        datetime(2028, 3, 12, 13, 0, tzinfo=UTC), TOKYO, time(8), time(21), EVERY_DAY
    )
    assert local(opens, TOKYO).isoformat() == "2028-03-13T08:00:00+09:00"


def test_allowed_days_skip_the_weekend() -> None:
    friday_night = wall("2028-03-03T21:30", NY)
    opens = next_opening(friday_night, NY, time(9), time(17), ["mon", "tue", "wed", "thu", "fri"])
    assert local(opens, NY).isoformat() == "2028-03-06T09:00:00-05:00"


def _ledger(*hours: int, channel: str = "sms") -> list[Delivery]:
    base = datetime(2028, 3, 1, tzinfo=UTC)
    return [Delivery(at=base + timedelta(hours=h), channel=channel) for h in hours]


def test_rolling_cap_waits_for_the_oldest_to_age_out() -> None:
    cap = Cap(channel="sms", max=2, per=timedelta(days=7))
    ledger = _ledger(0, 24)
    at = datetime(2028, 3, 3, tzinfo=UTC)
    assert earliest_under_cap(at, cap, ledger) == datetime(2028, 3, 8, tzinfo=UTC)
    assert cap_blocks(at, "sms", [cap], ledger)
    assert not cap_blocks(at, "email", [cap], ledger)


def test_all_cap_counts_every_channel() -> None:
    cap = Cap(channel="all", max=2, per=timedelta(days=1))
    ledger = _ledger(0) + _ledger(1, channel="email")
    assert earliest_under_cap(datetime(2028, 3, 1, 2, tzinfo=UTC), cap, ledger) == datetime(
        2028, 3, 2, 0, tzinfo=UTC
    )


def test_voice_is_capped_at_seven_in_seven_days_whatever_the_definition() -> None:
    ledger = _ledger(*(24 * d for d in range(7)), channel="voice")
    at = datetime(2028, 3, 7, 12, tzinfo=UTC)
    assert cap_blocks(at, "voice", [], ledger)
    assert not cap_blocks(datetime(2028, 3, 8, 0, 1, tzinfo=UTC), "voice", [], ledger)


def test_send_respects_gap_caps_and_window_together() -> None:
    policy = Policy(
        contact_window=ContactWindow(start=time(8), end=time(21)),
        caps=[Cap(channel="all", max=1, per=timedelta(days=1))],
        min_gap=timedelta(hours=20),
    )
    sent = wall("2028-03-01T20:30", NY)
    ledger = [Delivery(at=sent, channel="email")]
    when = earliest_send(sent + timedelta(minutes=1), "email", policy, NY, ledger)
    # the cap frees at 20:30 the next day, inside the window
    assert local(when, NY).isoformat() == "2028-03-02T20:30:00-05:00"
    tighter = policy.model_copy(
        update={"contact_window": ContactWindow(start=time(8), end=time(20))}
    )
    when = earliest_send(sent + timedelta(minutes=1), "email", tighter, NY, ledger)
    assert local(when, NY).isoformat() == "2028-03-03T08:00:00-05:00"


def test_prune_keeps_what_caps_need() -> None:
    cap = Cap(channel="all", max=3, per=timedelta(days=14))
    ledger = _ledger(0, 24 * 10, 24 * 20)
    kept = prune(ledger, datetime(2028, 3, 22, tzinfo=UTC), [cap], timedelta())
    assert [d.at.day for d in kept] == [11, 21]
