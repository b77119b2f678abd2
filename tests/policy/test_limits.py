"""The journey's policy and the account's rule packs merged (`effective_limits`), and the
moment a message may go under them in every zone the customer may be in (`next_send`):
the stricter wins, always, and each limit names the rule and pack that set it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from rapport.compliance.table import load_rulebook
from rapport.language.models import Cap, ContactWindow, Policy
from rapport.policy.caps import Delivery
from rapport.policy.limits import (
    JOURNEY,
    PackRule,
    Place,
    Source,
    effective_limits,
    reach,
    recorded_rules,
)
from rapport.policy.schedule import capped_now, earliest_send, next_send
from rapport.policy.window import local, to_utc
from rapport.policy.zone import LiveZone

BOOK = load_rulebook(Path(__file__).resolve().parents[2] / "journeys" / "rules")
NY, LA, CHICAGO, DUBLIN = (
    "America/New_York",
    "America/Los_Angeles",
    "America/Chicago",
    "Europe/Dublin",
)
FEDERAL = recorded_rules(BOOK.for_place("US"))
MASSACHUSETTS = recorded_rules(BOOK.for_place("US", "US-MA"))
ONTARIO = recorded_rules(BOOK.for_place("CA", "CA-ON"))
IRELAND = recorded_rules(BOOK.for_place("IE"))
ST_PATRICK = {date(2028, 3, 17): "Saint Patrick's Day"}


def wall(text: str, zone: str) -> datetime:
    return to_utc(datetime.fromisoformat(text), zone)


def place(rules: list[PackRule], *zones: str, holidays: dict[date, str] | None = None) -> Place:
    return Place(rules, [LiveZone(z) for z in zones], holidays or {})


# --- effective_limits -------------------------------------------------------------------


def test_on_a_tie_the_pack_is_named_and_a_stricter_journey_names_itself() -> None:
    same = effective_limits(Policy(), FEDERAL, "sms", date(2028, 3, 1))
    assert (same.start.value, same.end.value) == (time(8), time(21))
    assert same.start.by == same.end.by == Source("us-federal", "contact-hours")
    narrow = Policy(contact_window=ContactWindow(start=time(9), end=time(20)))
    own = effective_limits(narrow, FEDERAL, "sms", date(2028, 3, 1))
    assert own.start.by == own.end.by == Source(JOURNEY, "policy.contact_window")


def test_a_window_of_some_days_holds_on_those_days_only() -> None:
    sunday = effective_limits(Policy(), ONTARIO, "sms", date(2028, 3, 5))
    assert (sunday.start.value, sunday.end.value) == (time(13), time(17))
    assert sunday.start.by == Source("ca-on", "sunday-hours")
    monday = effective_limits(Policy(), ONTARIO, "sms", date(2028, 3, 6))
    assert (monday.start.value, monday.start.by.pack) == (time(8), JOURNEY)  # 07:00 is looser
    assert monday.open
    assert sunday.open


def test_sundays_and_public_holidays_close_calls_in_ireland_not_emails() -> None:
    sunday, holiday = date(2028, 3, 19), date(2028, 3, 17)
    call = effective_limits(Policy(), IRELAND, "voice", sunday, ST_PATRICK)
    assert call.closed == Source("ie", "no-calls-sunday-holidays")
    patrick = effective_limits(Policy(), IRELAND, "voice", holiday, ST_PATRICK)
    assert (patrick.closed, patrick.holiday) == (call.closed, "Saint Patrick's Day")
    assert effective_limits(Policy(), IRELAND, "email", holiday, ST_PATRICK).open
    assert effective_limits(Policy(), IRELAND, "voice", date(2028, 3, 18), ST_PATRICK).open
    weekdays = Policy(days=["mon", "tue", "wed", "thu", "fri"])
    saturday = effective_limits(weekdays, IRELAND, "email", date(2028, 3, 18))
    assert saturday.closed == Source(JOURNEY, "policy.days")


def test_windows_that_never_overlap_close_the_day() -> None:
    mornings = Policy(contact_window=ContactWindow(start=time(8), end=time(12)))
    sunday = effective_limits(mornings, ONTARIO, "sms", date(2028, 3, 5))
    assert sunday.closed == Source("ca-on", "sunday-hours")


def test_every_cap_holds_and_of_two_alike_the_smaller() -> None:
    policy = Policy(
        caps=[
            Cap(channel="sms", max=2, per=timedelta(days=7)),
            Cap(channel="voice", max=7, per=timedelta(days=7)),
        ]
    )
    sms = effective_limits(policy, MASSACHUSETTS, "sms", date(2028, 3, 1))
    assert {(c.by.label(), c.max) for c in sms.caps} == {
        ("us-ma/phone-cap", 2),  # calls and texts together
        ("journey/policy.caps[0]", 2),  # texts alone
    }
    voice = effective_limits(policy, MASSACHUSETTS, "voice", date(2028, 3, 1))
    labels = {c.by.label(): c.max for c in voice.caps}
    assert labels == {"us-ma/phone-cap": 2, "us-federal/call-cap": 7}  # the pack's, on a tie
    looser = Policy(caps=[Cap(channel="voice", max=3, per=timedelta(days=7))])
    assert [
        c.by.pack for c in effective_limits(looser, FEDERAL, "voice", date(2028, 3, 1)).caps
    ] == [JOURNEY]
    assert [
        c.by.label() for c in effective_limits(policy, FEDERAL, "voice", date(2028, 3, 1)).cooldowns
    ] == ["us-federal/call-after-conversation"]


def test_the_reach_covers_the_longest_limit() -> None:
    assert reach(Policy(), IRELAND) == timedelta(days=31)
    assert reach(Policy(min_gap=timedelta(days=40)), FEDERAL) == timedelta(days=40)


# --- next_send ---------------------------------------------------------------------------


def test_a_new_york_number_with_a_california_address_hears_from_us_11_to_21_eastern() -> None:
    account = place(FEDERAL, LA, NY)
    evening = wall("2028-03-06T19:00", LA)  # 22:00 in New York
    verdict = next_send(evening, "sms", Policy(), account, [])
    assert verdict.at is not None
    assert verdict.closes is not None
    assert local(verdict.at, NY).isoformat() == "2028-03-07T11:00:00-05:00"
    assert local(verdict.closes, NY).isoformat() == "2028-03-07T21:00:00-05:00"
    assert (verdict.by, verdict.zone) == (Source("us-federal", "contact-hours"), NY)
    morning = wall("2028-03-07T08:30", NY)  # 05:30 in California
    early = next_send(morning, "sms", Policy(), account, [])
    assert early.at == wall("2028-03-07T08:00", LA)
    assert early.zone == LA
    noon = wall("2028-03-07T12:00", NY)
    assert next_send(noon, "sms", Policy(), account, []).at == noon


def test_massachusetts_counts_calls_and_texts_together_over_seven_days() -> None:
    account = place(MASSACHUSETTS, NY)
    monday = wall("2028-03-06T09:00", NY)
    ledger = [
        Delivery(at=monday, channel="sms"),
        Delivery(at=monday + timedelta(days=1), channel="voice"),
        Delivery(at=monday + timedelta(days=1, hours=1), channel="email"),  # not a phone
    ]
    verdict = next_send(monday + timedelta(days=2), "sms", Policy(), account, ledger)
    assert verdict.at == monday + timedelta(days=7)
    assert verdict.by == Source("us-ma", "phone-cap")
    assert capped_now(monday + timedelta(days=2), "voice", Policy(), account, ledger) == Source(
        "us-ma", "phone-cap"
    )
    assert next_send(monday + timedelta(days=2), "email", Policy(), account, ledger).by is None


def test_no_call_within_seven_days_after_a_conversation() -> None:
    account = place(FEDERAL, CHICAGO)
    talked = wall("2028-03-06T15:00", CHICAGO)
    asked = talked + timedelta(days=1)
    call = next_send(asked, "voice", Policy(), account, [], talked_at=talked)
    assert call.at == talked + timedelta(days=7)
    assert call.by == Source("us-federal", "call-after-conversation")
    assert next_send(asked, "sms", Policy(), account, [], talked_at=talked).at == asked


def test_no_call_in_ireland_on_a_sunday_or_on_st_patricks_day() -> None:
    account = place(IRELAND, DUBLIN, holidays=ST_PATRICK)
    policy = Policy(contact_window=ContactWindow(start=time(9), end=time(20)))
    holiday = next_send(wall("2028-03-17T10:00", DUBLIN), "voice", policy, account, [])
    assert holiday.at == wall("2028-03-18T09:00", DUBLIN)
    assert (holiday.by, holiday.detail) == (
        Source("ie", "no-calls-sunday-holidays"),
        "Saint Patrick's Day",
    )
    sunday = next_send(wall("2028-03-19T10:00", DUBLIN), "voice", policy, account, [])
    assert sunday.at == wall("2028-03-20T09:00", DUBLIN)
    email = next_send(wall("2028-03-19T10:00", DUBLIN), "email", policy, account, [])
    assert email.by is None


def test_rules_that_leave_no_moment_say_so_and_which() -> None:
    sundays = Policy(days=["sun"])
    verdict = next_send(
        wall("2028-03-19T10:00", DUBLIN), "voice", sundays, place(IRELAND, DUBLIN), []
    )
    assert verdict.at is None
    assert verdict.by == Source("ie", "no-calls-sunday-holidays")


def test_a_deferral_is_spread_over_the_opening_and_never_past_the_close() -> None:
    account = place(FEDERAL, NY)
    night = wall("2028-03-06T23:00", NY)
    verdict = next_send(night, "sms", Policy(), account, [], spread=timedelta(minutes=3))
    assert verdict.at == wall("2028-03-07T08:03", NY)


# --- without packs, in one zone: as before -------------------------------------------------

POLICIES = st.builds(
    Policy,
    contact_window=st.sampled_from(
        [ContactWindow(), ContactWindow(start=time(9), end=time(17, 30))]
    ),
    days=st.sampled_from([["mon", "tue", "wed", "thu", "fri"], ["sat", "sun"], ["wed"]]),
    caps=st.lists(
        st.builds(
            Cap,
            channel=st.sampled_from(["all", "sms", "email"]),
            max=st.integers(1, 3),
            per=st.sampled_from([timedelta(hours=20), timedelta(days=7)]),
        ),
        max_size=2,
    ),
    min_gap=st.sampled_from([timedelta(), timedelta(hours=20)]),
)
MOMENTS = st.datetimes(
    min_value=datetime(2028, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=150, deadline=None)
@given(
    policy=POLICIES,
    at=MOMENTS,
    sent=st.lists(
        st.tuples(st.integers(0, 14 * 24), st.sampled_from(["sms", "email"])), max_size=6
    ),
    zone=st.sampled_from([NY, "Asia/Tokyo", "Europe/London"]),
)
def test_without_packs_in_one_zone_it_agrees_with_the_policy_alone(
    policy: Policy, at: datetime, sent: list[tuple[int, str]], zone: str
) -> None:
    ledger = [Delivery(at=at - timedelta(hours=h), channel=c) for h, c in sent]
    spread = timedelta(minutes=3, seconds=7)
    verdict = next_send(at, "sms", policy, place([], zone), ledger, spread=spread)
    assert verdict.at == earliest_send(at, "sms", policy, zone, ledger, spread)
