"""The policy guarantees, each shown by a journey run on the time-skipping server."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from tests.scenarios import account, opening, sent, simulate_journey

DAILY = """\
id: daily
version: 1
name: Daily email
steps:
  - id: mail
    send: {channel: email, template: reminder}
  - id: pause
    wait: 1d
  - id: again
    branch:
      - {when: "journey.messages_sent < 5", goto: mail}
"""


async def test_early_start_defers_to_eight_local(env: WorkflowEnvironment, tmp_path: Path) -> None:
    timeline = await simulate_journey(env, tmp_path, DAILY, start="2028-03-01T06:10", days=1)
    assert sent(timeline)[0] == ("mail", "email", opening("2028-03-01T08:00:00-05:00"))


async def test_new_york_across_spring_forward(env: WorkflowEnvironment, tmp_path: Path) -> None:
    # each 20h wait ends before 08:00 local; the window opens at 08:00 on either side of the
    # change (US clocks spring forward on 2028-03-12)
    journey = DAILY.replace("wait: 1d", "wait: 20h")
    timeline = await simulate_journey(env, tmp_path, journey, start="2028-03-10T07:00", days=6)
    assert [at for _, _, at in sent(timeline)] == [
        opening(at)
        for at in (
            "2028-03-10T08:00:00-05:00",
            "2028-03-11T08:00:00-05:00",
            "2028-03-12T08:00:00-04:00",
            "2028-03-13T08:00:00-04:00",
            "2028-03-14T08:00:00-04:00",
        )
    ]


async def test_tokyo_is_contacted_in_tokyo_hours(env: WorkflowEnvironment, tmp_path: Path) -> None:
    customer = account(customer__timezone="Asia/Tokyo")
    timeline = await simulate_journey(
        env,
        tmp_path,
        DAILY.replace("wait: 1d", "wait: 20h"),
        customer=customer,
        start="2028-03-11T22:00",
        days=3,
    )
    assert [at for _, _, at in sent(timeline)][:2] == [
        opening("2028-03-12T08:00:00+09:00"),
        opening("2028-03-13T08:00:00+09:00"),
    ]


BURST = """\
id: burst
version: 1
name: Four texts in a row
policy:
  caps:
    - {channel: all, max: 2, per: 7d}
  on_cap: ON_CAP
steps:
  - {id: one, send: {channel: sms, template: nudge}}
  - {id: two, send: {channel: sms, template: nudge}}
  - {id: three, send: {channel: sms, template: nudge}}
  - {id: four, send: {channel: email, template: reminder}}
"""


async def test_cap_defers_until_the_window_rolls(env: WorkflowEnvironment, tmp_path: Path) -> None:
    timeline = await simulate_journey(env, tmp_path, BURST.replace("ON_CAP", "defer"), days=20)
    assert sent(timeline) == [
        ("one", "sms", "2028-03-01T09:00:00-05:00"),
        ("two", "sms", "2028-03-01T09:00:00-05:00"),
        ("three", "sms", "2028-03-08T09:00:00-05:00"),
        ("four", "email", "2028-03-08T09:00:00-05:00"),
    ]
    assert timeline["outcome"] == "exhausted"


async def test_cap_skip_records_the_reason(env: WorkflowEnvironment, tmp_path: Path) -> None:
    timeline = await simulate_journey(env, tmp_path, BURST.replace("ON_CAP", "skip"), days=2)
    assert [m[0] for m in sent(timeline)] == ["one", "two"]
    assert [(s["step"], s["reason"]) for s in timeline["skipped"]] == [
        ("three", "cap"),
        ("four", "cap"),
    ]


async def test_min_gap_spaces_messages(env: WorkflowEnvironment, tmp_path: Path) -> None:
    journey = BURST.replace("  on_cap: ON_CAP\n", "  min_gap: 20h\n").replace("max: 2", "max: 9")
    timeline = await simulate_journey(env, tmp_path, journey, days=5)
    # 09:00 + 20h = 05:00 next day, outside the window: deferred to 08:00 (and the
    # account's spread); each later one 20 h after the last, again at the opening
    times = [at for _, _, at in sent(timeline)]
    assert times[:2] == ["2028-03-01T09:00:00-05:00", opening("2028-03-02T08:00:00-05:00")]
    assert times[2:] == [opening("2028-03-03T08:00:00-05:00"), opening("2028-03-04T08:00:00-05:00")]


CALLS = """\
id: calls
version: 1
name: Hourly calls (the legal cap must stop this)
steps:
  - {id: call, send: {channel: voice, template: call}}
  - {id: pause, wait: 1h}
  - id: again
    branch:
      - {when: "journey.messages_sent < 12", goto: call}
"""


async def test_voice_never_more_than_seven_in_seven_days(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    timeline = await simulate_journey(env, tmp_path, CALLS, days=10)
    times = [datetime.fromisoformat(at) for _, _, at in sent(timeline)]
    assert len(times) == 12
    for i, first in enumerate(times):
        assert sum(1 for t in times[i:] if t - first < timedelta(days=7)) <= 7
    assert times[7] - times[0] >= timedelta(days=7)


async def test_contact_days_are_honoured(env: WorkflowEnvironment, tmp_path: Path) -> None:
    journey = DAILY.replace("steps:", "policy:\n  days: [mon, tue, wed, thu, fri]\nsteps:")
    timeline = await simulate_journey(env, tmp_path, journey, start="2028-03-03T09:00", days=6)
    weekdays = {datetime.fromisoformat(at).strftime("%a") for _, _, at in sent(timeline)}
    assert weekdays <= {"Mon", "Tue", "Wed", "Thu", "Fri"}
    assert [at[:10] for _, _, at in sent(timeline)] == [
        "2028-03-03",
        "2028-03-06",
        "2028-03-07",
        "2028-03-08",
        "2028-03-09",
    ]
