"""The law of where the customer is, kept when each message is sent (the shipped rule
packs, journeys/rules/), through the real workflow on the time-skipping server: a
Massachusetts customer hears from us at most twice in any seven days, across channels
and journeys; a New York number with a California address is texted only when 08:00-
21:00 holds in both places; no call within 7 days after a conversation; no call to an
Irish customer on a Sunday or on St Patrick's Day. Each deferral and skip names the
pack and rule that decided it."""

from __future__ import annotations

import shutil
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from temporalio.testing import WorkflowEnvironment

from rapport.catalog.library import Library
from rapport.compliance.table import RuleBook, load_rulebook
from rapport.contract.journey import JourneyStatus
from rapport.contract.names import workflow_id
from rapport.language.account import Account
from rapport.policy.window import to_utc
from rapport.providers.outbox import Capture
from rapport.runtime.workers import EngineParts, build_worker
from rapport.security.links import LinkSigner
from rapport.store.database import Store
from rapport.store.deliveries import DeliveryLog
from tests.journey_files import write_journey
from tests.scenarios import account, simulate_journey
from workflows.journey import DelinquencyJourney
from workflows.state import JourneyInput

ROOT = Path(__file__).resolve().parents[2]
PACKS = ROOT / "journeys" / "rules"
NY, LA, CHICAGO, DUBLIN = (
    "America/New_York",
    "America/Los_Angeles",
    "America/Chicago",
    "Europe/Dublin",
)

DAILY_TEXTS = """\
id: daily-texts
version: 1
name: A text a day
steps:
  - {id: text, send: {channel: sms, template: nudge}}
  - {id: pause, wait: 1d}
  - id: again
    branch:
      - {when: "journey.days_elapsed < DAYS", goto: text}
"""

DAILY_CALLS = """\
id: daily-calls
version: 1
name: A call a day
COUNTRIES
policy:
  contact_window: {start: "09:00", end: "20:00"}
steps:
  - {id: call, send: {channel: voice, template: call}}
  - {id: pause, wait: 1d}
  - id: again
    branch:
      - {when: "journey.days_elapsed < DAYS", goto: call}
"""


def with_packs(folder: Path) -> Path:
    """The shipped packs beside the journey (`rules/`), where a simulation reads them."""
    shutil.copytree(PACKS, folder / "rules", dirs_exist_ok=True)
    return folder


def local_times(timeline: dict[str, Any], zone: str, channel: str | None = None) -> list[datetime]:
    return [
        datetime.fromisoformat(m["at"]).astimezone(ZoneInfo(zone))
        for m in timeline["messages"]
        if channel is None or m["channel"] == channel
    ]


def most_in_any(moments: list[datetime], period: timedelta) -> int:
    """The most messages in any rolling `period`: each message and those before it."""
    return max((sum(1 for m in moments if t - period < m <= t) for t in moments), default=0)


def reasons(timeline: dict[str, Any]) -> set[tuple[str, str]]:
    return {(d["pack"], d["rule"]) for d in timeline["deferred"]}


async def test_a_massachusetts_customer_with_a_daily_text_gets_two_in_any_seven_days(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    customer = account(
        account_id="MA-1",
        customer__phone="+16175550100",
        customer__address={"country": "US", "region": "US-MA"},
    )
    timeline = await simulate_journey(
        env,
        with_packs(tmp_path),
        DAILY_TEXTS.replace("DAYS", "21"),
        customer=customer,
        start="2028-03-06T09:00",
        days=28,
    )
    texts = local_times(timeline, NY)
    assert len(texts) >= 7  # the journey texts on, twice a week
    assert most_in_any(texts, timedelta(days=7)) == 2
    assert timeline["rule_packs"] == ["us-federal", "us-ma"]
    assert reasons(timeline) == {("us-ma", "phone-cap")}


async def test_massachusetts_counts_calls_and_texts_of_every_journey_of_the_account(
    env: WorkflowEnvironment, tmp_path: Path, sqlite_store: Store
) -> None:
    """Last week's journey called once; this one texts: two in seven days, all told."""
    with_packs(tmp_path)
    write_journey(
        tmp_path, DAILY_CALLS.replace("COUNTRIES", "").replace("DAYS", "0"), name="c.yaml"
    )
    write_journey(tmp_path, DAILY_TEXTS.replace("DAYS", "10"), name="t.yaml")
    outbox = Capture()
    parts = EngineParts(
        journeys=[tmp_path],
        channels={"*": outbox},
        signer=LinkSigner("k"),
        deliveries=DeliveryLog(sqlite_store),
    )
    customer = Account.model_validate(
        account(
            account_id="MA-2",
            customer__phone="+16175550100",
            customer__address={"country": "US", "region": "MA"},  # read as US-MA
        )
    )
    queue = f"ma-{uuid.uuid4()}"
    await _skip_to(env, to_utc(datetime(2028, 3, 6, 10), NY))
    async with build_worker(env.client, queue, parts):
        called = await _run(env, queue, customer, "daily-calls")
        texted = await _run(env, queue, customer, "daily-texts", until=timedelta(days=12))
    assert [m.channel for m in called.messages] == ["voice"]
    moments = sorted(m.at for m in called.messages + texted.messages)
    assert len(texted.messages) >= 2
    assert most_in_any(moments, timedelta(days=7)) == 2
    assert texted.deferred[0].rule == "phone-cap"
    assert texted.messages[1].at >= called.messages[0].at + timedelta(days=7)


async def test_a_new_york_number_with_a_california_address_is_texted_11_to_21_eastern(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    customer = account(
        account_id="NYCA-1",
        customer__timezone=LA,
        customer__phone="+12125550100",
        customer__address={"country": "US", "region": "US-CA"},
    )
    timeline = await simulate_journey(
        env,
        with_packs(tmp_path),
        DAILY_TEXTS.replace("DAYS", "5"),
        customer=customer,
        start="2028-03-06T19:00",  # 22:00 in New York
        days=7,
    )
    eastern = local_times(timeline, NY)
    assert len(eastern) == 5
    assert all(11 <= t.hour < 21 for t in eastern), eastern
    assert all(8 <= t.astimezone(ZoneInfo(LA)).hour < 18 for t in eastern)
    assert timeline["zones"] == [LA, NY]
    first = timeline["deferred"][0]
    assert (first["pack"], first["rule"], first["zone"]) == ("us-federal", "contact-hours", NY)


async def test_no_call_within_seven_days_after_a_conversation(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    customer = account(
        account_id="TALK-1",
        customer__timezone=CHICAGO,
        customer__phone="+13125550100",
        consent={"voice": True},
    )
    timeline = await simulate_journey(
        env,
        with_packs(tmp_path),
        DAILY_CALLS.replace("COUNTRIES", "").replace("DAYS", "13"),
        customer=customer,
        start="2028-03-06T10:00",
        days=16,
        events=[{"at": "+2d3h", "type": "conversation", "reason": "agent call"}],
    )
    talked = to_utc(datetime(2028, 3, 8, 13), CHICAGO)
    calls = [t.astimezone(ZoneInfo("UTC")) for t in local_times(timeline, CHICAGO)]
    assert [e["accepted"] for e in timeline["events"]] == [True]
    assert not [c for c in calls if talked < c < talked + timedelta(days=7)], calls
    assert any(c >= talked + timedelta(days=7) for c in calls)  # and the calls resume
    assert ("us-federal", "call-after-conversation") in reasons(timeline)


async def test_no_call_to_an_irish_customer_on_a_sunday_or_on_st_patricks_day(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """A journey validated before Ireland's pack existed calls every day, Sundays too: the
    pack, applied when each call is decided, keeps Sunday and the holiday free."""
    write_journey(
        tmp_path, DAILY_CALLS.replace("COUNTRIES", "countries: [IE]").replace("DAYS", "6")
    )
    outbox = Capture()
    parts = EngineParts(
        journeys=[tmp_path],
        channels={"*": outbox},
        signer=LinkSigner("k"),
        library=Library([tmp_path], RuleBook()),  # pinned when no pack said otherwise
        rules=load_rulebook(PACKS),
    )
    customer = Account.model_validate(
        account(
            account_id="IE-1",
            currency="EUR",
            customer__timezone=DUBLIN,
            customer__phone="+35312345678",
            customer__address={"country": "IE"},
            consent={"voice": True},
        )
    )
    queue = f"ie-{uuid.uuid4()}"
    await _skip_to(env, to_utc(datetime(2028, 3, 16, 10), DUBLIN))  # a Thursday
    async with build_worker(env.client, queue, parts):
        status = await _run(env, queue, customer, "daily-calls", until=timedelta(days=8))
    days = [m.at.astimezone(ZoneInfo(DUBLIN)).date().isoformat() for m in status.messages]
    assert days == ["2028-03-16", "2028-03-18", "2028-03-20"]  # and the monthly cap: 3
    held = [
        (d.rule, d.detail, d.until.astimezone(ZoneInfo(DUBLIN)).date().isoformat())
        for d in status.deferred
    ]
    assert ("no-calls-sunday-holidays", "Saint Patrick's Day", "2028-03-18") in held
    assert ("no-calls-sunday-holidays", "", "2028-03-20") in held
    assert status.rule_packs == ["ie"]
    assert status.zones == [DUBLIN]


async def test_a_move_to_massachusetts_brings_its_pack(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """account_updated with a new address: the packs are read again before the next text,
    and the texts of the days before the move count toward Massachusetts' cap."""
    timeline = await simulate_journey(
        env,
        with_packs(tmp_path),
        DAILY_TEXTS.replace("DAYS", "11"),
        customer=account(account_id="MOVE-1"),
        start="2028-03-06T09:00",
        days=12,
        events=[
            {
                "at": "+2d2h",
                "type": "account_updated",
                "customer": {"address": {"country": "US", "region": "US-MA"}},
            }
        ],
    )
    days = [t.day for t in local_times(timeline, NY)]
    assert days == [6, 7, 8, 14, 15]  # three before the move; then two in any seven days
    assert timeline["rule_packs"] == ["us-federal", "us-ma"]
    assert reasons(timeline) == {("us-ma", "phone-cap")}


async def _run(
    env: WorkflowEnvironment,
    queue: str,
    customer: Account,
    journey: str,
    until: timedelta | None = None,
) -> JourneyStatus:
    handle = await env.client.start_workflow(
        DelinquencyJourney.run,
        JourneyInput(account=customer, journey=journey),
        id=workflow_id(customer.account_id),
        task_queue=queue,
    )
    if until is None:
        await handle.result()
    else:
        await env.sleep(until)
    status = await handle.query(DelinquencyJourney.status)
    if until is not None:
        await handle.terminate("the test has seen enough")
    return status


async def _skip_to(env: WorkflowEnvironment, moment: datetime) -> None:
    delta = moment - await env.get_current_time()
    if delta > timedelta():
        await env.sleep(delta)
