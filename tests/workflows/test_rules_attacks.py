"""The rule packs attacked as a careless user and an attacker would: a conversation signal
full of junk, a customer whose zones leave no moment, a move while a message is held,
a daylight-saving change, and a worker whose pack folder breaks while journeys run."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from rapport.catalog.archive import MemoryArchive
from rapport.compliance.table import load_rulebook
from rapport.contract.journey import JourneyStatus
from rapport.contract.names import workflow_id
from rapport.language.account import Account
from rapport.policy.window import to_utc
from rapport.providers.outbox import Capture
from rapport.runtime.workers import EngineParts, build_worker
from rapport.security.links import LinkSigner
from tests.journey_files import write_journey
from tests.scenarios import account, simulate_journey
from tests.workflows.test_rules import DAILY_CALLS, DAILY_TEXTS, PACKS, local_times, with_packs
from workflows.journey import DelinquencyJourney
from workflows.state import JourneyInput

NY, LA, CHICAGO = "America/New_York", "America/Los_Angeles", "America/Chicago"


async def _start(
    env: WorkflowEnvironment, queue: str, customer: Account, journey: str
) -> WorkflowHandle[Any, Any]:
    return await env.client.start_workflow(
        DelinquencyJourney.run,
        JourneyInput(account=customer, journey=journey),
        id=workflow_id(customer.account_id),
        task_queue=queue,
    )


async def _skip_to(env: WorkflowEnvironment, moment: datetime) -> None:
    delta = moment - await env.get_current_time()
    if delta > timedelta():
        await env.sleep(delta)


async def test_a_conversation_signal_with_junk_is_refused_and_the_calls_go_on(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Raw payloads as any SDK could send them: a date in words, a date without a zone, a
    date next year (it would silence calls for a year and a week), a field no one knows,
    a string for the whole payload. Each is refused where status shows it; none starts
    the cooldown; the calls go on."""
    write_journey(tmp_path, DAILY_CALLS.replace("COUNTRIES", "").replace("DAYS", "4"))
    parts = EngineParts(
        journeys=[tmp_path],
        channels={"*": Capture()},
        signer=LinkSigner("k"),
        rules=load_rulebook(PACKS),
    )
    customer = Account.model_validate(
        account(
            account_id=f"JUNK-{uuid.uuid4().hex[:6]}",
            customer__timezone=CHICAGO,
            customer__phone="+13125550100",
            consent={"voice": True},
        )
    )
    queue = f"junk-{uuid.uuid4()}"
    await _skip_to(env, to_utc(datetime(2028, 3, 6, 10), CHICAGO))
    async with build_worker(env.client, queue, parts):
        handle = await _start(env, queue, customer, "daily-calls")
        await env.sleep(timedelta(hours=2))
        now = await env.get_current_time()
        junk: list[Any] = [
            {"talked_at": "yesterday"},
            {"talked_at": "2028-03-06T10:00:00"},  # no zone
            {"talked_at": (now + timedelta(days=365)).isoformat()},
            {"talked_at": now.isoformat(), "agent": "x"},
            "we talked",
            {"reason": "x" * 501},
        ]
        for payload in junk:
            await handle.signal("conversation", payload)
        await env.sleep(timedelta(days=5))
        status: JourneyStatus = await handle.query(DelinquencyJourney.status)
    refused = [r for r in status.refused if r.event == "conversation"]
    assert len(refused) == len(junk), status.refused
    assert any("in the future" in r.error for r in refused)
    assert status.talked_at is None
    days = [m.at.astimezone(ZoneInfo(CHICAGO)).day for m in status.messages]
    assert days == [6, 7, 8, 9]  # a call a day, no cooldown
    assert status.errors == []


async def test_zones_that_never_share_an_hour_skip_the_message_and_the_journey_ends(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """A customer who says they live in Shanghai with a New York number: a 09:00-17:00
    journey never has an hour open in both. Each message is skipped naming the zone; the
    journey is not wedged, and nothing is sent at night in either place."""
    definition = DAILY_TEXTS.replace("DAYS", "2").replace(
        "name: A text a day\n",
        'name: A text a day\npolicy:\n  contact_window: {start: "09:00", end: "17:00"}\n',
    )
    timeline = await simulate_journey(
        env,
        with_packs(tmp_path),
        definition,
        customer=account(
            account_id="FAR-1",
            customer__timezone="Asia/Shanghai",
            customer__phone="+12125550100",
        ),
        start="2028-03-06T10:00",
        days=4,
    )
    assert timeline["messages"] == []
    reasons = {(s["reason"], s.get("pack"), s.get("rule")) for s in timeline["skipped"]}
    assert reasons == {("no_window", "journey", "policy.contact_window")}, timeline["skipped"]
    assert timeline["zones"] == ["Asia/Shanghai", NY]
    assert timeline["outcome"] == "exhausted"


async def test_a_move_while_a_text_is_held_by_massachusetts_lets_it_go_at_once(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Held by Massachusetts' cap until Monday, the customer moves to Texas on Thursday:
    the held text is decided again with Texas' packs and goes that day, in a window open
    in Chicago and Denver (Texas' zones) and New York (the phone's)."""
    timeline = await simulate_journey(
        env,
        with_packs(tmp_path),
        DAILY_TEXTS.replace("DAYS", "3"),
        customer=account(
            account_id="MOVE-2",
            customer__timezone=NY,
            customer__phone="+16175550100",
            customer__address={"country": "US", "region": "US-MA"},
        ),
        start="2028-03-06T10:00",  # a Monday
        days=8,
        events=[
            {
                "at": "+3d2h",  # Thursday 12:00
                "type": "account_updated",
                "customer": {"address": {"country": "US", "region": "US-TX"}},
            }
        ],
    )
    texts = local_times(timeline, NY)
    assert [t.day for t in texts] == [6, 7, 9]  # Thursday's at once
    moved = datetime(2028, 3, 9, 12, tzinfo=ZoneInfo(NY))
    assert moved <= texts[2] < moved + timedelta(hours=1)
    assert timeline["deferred"][0]["rule"] == "phone-cap"
    assert timeline["rule_packs"] == ["us-federal"]
    assert timeline["zones"] == [NY, CHICAGO, "America/Denver"]


async def test_across_the_autumn_clock_change_the_window_holds_in_both_zones(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """A New York number with a California address across 5 November 2028, when both
    clocks go back an hour: every text between 11:00 and 21:00 Eastern (08:00-18:00
    Pacific), read with each zone's clock at that very moment."""
    timeline = await simulate_journey(
        env,
        with_packs(tmp_path),
        DAILY_TEXTS.replace("DAYS", "7"),
        customer=account(
            account_id="DST-1",
            customer__timezone=LA,
            customer__phone="+12125550100",
            customer__address={"country": "US", "region": "US-CA"},
        ),
        start="2028-11-02T19:00",  # 22:00 in New York: held to the morning
        days=9,
    )
    moments = [datetime.fromisoformat(m["at"]) for m in timeline["messages"]]
    assert len(moments) == 7
    for moment in moments:
        eastern, pacific = moment.astimezone(ZoneInfo(NY)), moment.astimezone(ZoneInfo(LA))
        assert 8 <= eastern.hour < 21, eastern
        assert 8 <= pacific.hour < 21, pacific
        assert eastern.hour >= 11, eastern  # the Pacific morning binds
    days = [m.astimezone(ZoneInfo(LA)).date().isoformat() for m in moments]
    assert "2028-11-05" in days  # the day of the change itself
    assert len(set(days)) == len(days)


@pytest.mark.slow
async def test_a_pack_folder_that_breaks_holds_every_message_and_names_the_problem(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """A worker restarts with a pack file broken by a bad edit while a journey runs; the
    customer moves, so the packs must be read again. No message goes without its packs;
    status says why, with the file and line; once the pack is fixed the texts go on."""
    folder = with_packs(tmp_path / "journeys")
    write_journey(folder, DAILY_TEXTS.replace("DAYS", "6"))
    customer = Account.model_validate(
        account(
            account_id=f"BROKEN-{uuid.uuid4().hex[:6]}",
            customer__timezone=NY,
            customer__phone="+16175550100",
        )
    )
    queue = f"broken-{uuid.uuid4()}"
    await _skip_to(env, to_utc(datetime(2028, 3, 6, 10), NY))

    archive = MemoryArchive()  # the store's archive of pinned journeys, as workers share it

    def parts() -> EngineParts:
        return EngineParts(
            journeys=[folder], channels={"*": Capture()}, signer=LinkSigner("k"), archive=archive
        )

    # no cache: the test server would keep the next task on a stopped worker's sticky queue
    async with build_worker(env.client, queue, parts(), max_cached_workflows=0):
        handle = await _start(env, queue, customer, "daily-texts")
        await env.sleep(timedelta(hours=1))
    pack = folder / "rules" / "us-ma.yaml"
    good = pack.read_text()
    pack.write_text(good.replace("cap: {max: 2, per: 7d}", "cap: {max: two, per: 7d}"))
    async with build_worker(env.client, queue, parts(), max_cached_workflows=0):
        await handle.signal(
            "account_updated", {"customer": {"address": {"country": "US", "region": "US-MA"}}}
        )
        await env.sleep(timedelta(days=1))
        held: JourneyStatus = await handle.query(DelinquencyJourney.status)
    pack.write_text(good)
    async with build_worker(env.client, queue, parts(), max_cached_workflows=0):
        await env.sleep(timedelta(hours=12))
        healed: JourneyStatus = await handle.query(DelinquencyJourney.status)
        await handle.terminate("the test has seen enough")
    assert len(held.messages) == 1  # the first day's, before the pack broke
    assert any("us-ma.yaml:" in e and "rule packs" in e for e in held.errors), held.errors
    assert len(healed.messages) == 2
    assert healed.rule_packs == ["us-federal", "us-ma"]
    assert healed.errors == []


async def test_a_place_no_table_knows_adds_no_zone_and_the_stated_one_holds(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """A region no table knows (US-ZZ), a number that places no one (555): the packs of the
    country still apply, the stated zone holds, and the texts go within its window."""
    timeline = await simulate_journey(
        env,
        with_packs(tmp_path),
        DAILY_TEXTS.replace("DAYS", "2"),
        customer=account(
            account_id="NOWHERE-1",
            customer__timezone=CHICAGO,
            customer__phone="+15555550100",
            customer__address={"country": "US", "region": "US-ZZ"},
        ),
        start="2028-03-06T06:00",  # before the window: held to 08:00 Chicago
        days=3,
    )
    texts = local_times(timeline, CHICAGO)
    assert [t.day for t in texts] == [6, 7]
    assert all(8 <= t.hour < 21 for t in texts)
    assert timeline["zones"] == [CHICAGO]
    assert timeline["rule_packs"] == ["us-federal"]


def test_the_place_of_new_rules_is_never_an_old_ones_even_at_the_same_address() -> None:
    """Found under load (a nondeterminism error on a query after a move to Massachusetts):
    the place was cached by id() of the rules, and an address change frees the old rules,
    so the new ones could get the same id and the journey decide under the old place; a
    replay, allocating otherwise, decided under the new one. The cache holds the rules."""
    from types import SimpleNamespace

    from rapport.policy.limits import Holiday, PlaceRules
    from workflows.rules import JourneyRules

    journey = SimpleNamespace(state=SimpleNamespace(rules=None), _place_cache=None)
    holidays = [[Holiday(day=date(2028, 3, day), name="x")] for day in range(1, 30)]
    for each in holidays:
        journey.state.rules = None  # the address changed: the old rules are freed
        rules = PlaceRules(holidays=each)  # CPython mostly reuses the freed address
        journey.state.rules = rules
        del rules
        place = JourneyRules._place(journey)  # type: ignore[arg-type]
        assert list(place.holidays) == [each[0].day]
