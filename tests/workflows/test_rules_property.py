"""Property: random accounts, rule packs and journeys; the simulated timeline never breaks
a rule of the account's packs, nor the journey's own policy.

Each example writes random packs for the account's country and region (windows on some
days, closed weekdays and public holidays, caps over some channels, a call cooldown),
a journey that loops over random channels and waits (pinned without looking at the packs,
as a journey pinned before a pack was added), and runs it for days on the time-skipping
server, a conversation with an agent somewhere in it. Then every message sent is checked
here, by a plain reading of the rules that shares nothing with the engine's scheduler
(the zones of each place and number written out here; holidays from the `holidays` package):
its time in every zone the customer may be in, the day there (weekday, holiday), every
cap's rolling count, the gap, the cooldown. Bounded: twenty examples of up to two weeks
each (about five seconds, slow); test_rules_property_long.py draws 300."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from rapport.catalog.library import Library
from rapport.compliance.calendars import holiday
from rapport.compliance.packs import RulePack
from rapport.compliance.table import RuleBook, load_rulebook
from rapport.contract.names import workflow_id
from rapport.contract.payloads import Conversation
from rapport.contract.records import SentMessage
from rapport.language.account import Account
from rapport.language.models import Policy
from rapport.language.types import WEEKDAYS
from rapport.providers.outbox import Capture
from rapport.runtime.workers import EngineParts, build_worker
from rapport.security.links import LinkSigner
from tests.journey_files import write_journey
from tests.scenarios import account
from workflows.journey import DelinquencyJourney
from workflows.state import JourneyInput

CHANNELS = ("sms", "email", "voice")


@dataclass(frozen=True)
class Whereabouts:
    country: str
    region: str | None
    timezone: str
    phones: tuple[str | None, ...]


PLACES = (
    Whereabouts("US", None, "America/New_York", ("+12125550100", "+14155550100", None)),
    Whereabouts("US", "US-MA", "America/New_York", ("+16175550100", "+14155550100")),
    Whereabouts("US", "US-CA", "America/Los_Angeles", ("+12125550100", "+14155550100")),
    Whereabouts("US", "US-TX", "America/Chicago", ("+13125550100", "+15555550100")),
    Whereabouts("CA", "CA-ON", "America/Toronto", ("+14165550100",)),
    Whereabouts("IE", None, "Europe/Dublin", ("+35312345678",)),
    Whereabouts("GB", None, "Europe/London", (None,)),
)

# Where each place and number may be, written out here (not asked of the engine's tables):
# Regulation F's "every location the creditor has reason to believe".
REGION_ZONES = {
    "US-MA": ("America/New_York",),
    "US-CA": ("America/Los_Angeles",),
    "US-TX": ("America/Chicago", "America/Denver"),
    "CA-ON": ("America/Toronto", "America/Winnipeg"),
    "IE": ("Europe/Dublin",),
    "GB": ("Europe/London",),
}
PHONE_ZONES = {
    "+12125550100": ("America/New_York",),
    "+14155550100": ("America/Los_Angeles",),
    "+16175550100": ("America/New_York",),
    "+13125550100": ("America/Chicago",),
    "+15555550100": (),  # 555: no area, no place
    "+14165550100": ("America/Toronto",),
    "+35312345678": ("Europe/Dublin",),
}


def every_zone(place: Whereabouts, phone: str | None) -> list[str]:
    found = [place.timezone, *REGION_ZONES.get(place.region or place.country, ())]
    found += PHONE_ZONES[phone] if phone else ()
    return list(dict.fromkeys(found))


some_days = st.lists(st.sampled_from(WEEKDAYS), min_size=3, max_size=7, unique=True)
rule_channels = st.one_of(
    st.just("all"), st.lists(st.sampled_from(CHANNELS), min_size=1, max_size=3, unique=True)
)


@st.composite
def rules(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["window", "closed", "cap", "cooldown"]))
    body: dict[str, Any] = {}
    if kind == "window":  # mostly overlapping the journey's: a timeline with messages
        start = draw(st.integers(min_value=7, max_value=12).map(lambda h: time(h)))
        end = draw(st.integers(min_value=15, max_value=21))
        body["window"] = {"start": f"{start:%H:%M}", "end": f"{end:02d}:00"}
        if draw(st.booleans()):
            body["window"]["days"] = draw(some_days)
    elif kind == "closed":
        body["closed"] = {
            "days": draw(st.lists(st.sampled_from(WEEKDAYS), max_size=2, unique=True)),
            "holidays": draw(st.booleans()),
        }
    elif kind == "cap":
        body["cap"] = {"max": draw(st.integers(1, 4)), "per": f"{draw(st.integers(1, 8))}d"}
    else:
        body["cooldown"] = {"after": "conversation", "per": f"{draw(st.integers(1, 7))}d"}
    return {"channels": draw(rule_channels), **body}


@st.composite
def cases(draw: st.DrawFn) -> dict[str, Any]:
    place = draw(st.sampled_from(PLACES))
    packs = {"country": draw(st.lists(rules(), min_size=1, max_size=3))}
    if place.region is not None:
        packs["region"] = draw(st.lists(rules(), max_size=2))
    start = draw(st.integers(8, 12))
    end = draw(st.integers(15, 21))
    policy: dict[str, Any] = {
        "contact_window": {"start": f"{start:02d}:00", "end": f"{end:02d}:00"},
        "days": draw(some_days),
        "on_cap": draw(st.sampled_from(["defer", "skip"])),
    }
    if draw(st.booleans()):
        channel = draw(st.sampled_from(["all", *CHANNELS]))
        policy["caps"] = [{"channel": channel, "max": draw(st.integers(1, 3)), "per": "3d"}]
    if draw(st.booleans()):
        policy["min_gap"] = f"{draw(st.integers(1, 30))}h"
    return {
        "place": place,
        "phone": draw(st.sampled_from(place.phones)),
        "packs": packs,
        "policy": policy,
        "sends": draw(st.lists(st.sampled_from(CHANNELS), min_size=1, max_size=3)),
        "wait": f"{draw(st.integers(3, 30))}h",
        "days": draw(st.integers(5, 12)),
        "start": timedelta(hours=draw(st.integers(0, 23)), days=draw(st.integers(0, 6))),
        "talk": timedelta(hours=draw(st.integers(1, 24 * 5))) if draw(st.booleans()) else None,
    }


def write_packs(folder: Path, case: dict[str, Any]) -> RuleBook:
    place: Whereabouts = case["place"]
    (folder / "rules").mkdir()
    for scope, drawn in case["packs"].items():
        if not drawn:
            continue
        name = f"random-{scope}"
        applies = {"country": place.country}
        if scope == "region":
            applies["region"] = place.region or ""
        pack = {
            "pack": name,
            "name": f"Random {scope}",
            "applies_to": applies,
            "source": "drawn by hypothesis",
            "rules": [
                {"id": f"r{i}", "citation": f"rule {i}", "note": "drawn", **rule}
                for i, rule in enumerate(drawn)
            ],
        }
        RulePack.model_validate(yaml.safe_load(yaml.safe_dump(pack)))  # a valid pack
        (folder / "rules" / f"{name}.yaml").write_text(yaml.safe_dump(pack, sort_keys=False))
    return load_rulebook(folder / "rules")


def journey(case: dict[str, Any]) -> str:
    steps: list[dict[str, Any]] = [
        {"id": f"s{i}", "send": {"channel": channel, "template": "any"}}
        for i, channel in enumerate(case["sends"])
    ]
    steps += [
        {"id": "pause", "wait": case["wait"]},
        {
            "id": "again",
            "branch": [{"when": f"journey.days_elapsed < {case['days']}", "goto": "s0"}],
        },
    ]
    definition = {
        "id": "drawn",
        "version": 1,
        "name": "Drawn",
        "countries": [case["place"].country],
        "policy": case["policy"],
        "steps": steps,
    }
    return yaml.safe_dump(definition, sort_keys=False)


TEMPLATES = {
    "any.sms.j2": "{{ balance }} due. {{ opt_out }}\n",
    "any.email.j2": "Subject: Due\n\n{{ balance }} due.\n{{ opt_out }}\n",
    "any.voice.j2": "About {{ balance }}.\n",
}


def broken_rules(
    sent: list[SentMessage], case: dict[str, Any], book: RuleBook, talked: datetime | None
) -> list[str]:
    """Every rule a sent message broke, read plainly from the packs and the policy."""
    place: Whereabouts = case["place"]
    policy = Policy.model_validate(case["policy"])
    packs = book.for_place(place.country, place.region)
    zones = every_zone(place, case["phone"])
    found: list[str] = []
    for m in sent:
        for zone in zones:
            wall = m.at.astimezone(ZoneInfo(zone))
            day, clock = WEEKDAYS[wall.weekday()], wall.time()
            if day not in policy.days:
                found.append(f"{m.key}: the journey does not send on {day} ({zone})")
            window = policy.contact_window
            if not window.start <= clock < window.end:
                found.append(f"{m.key}: {clock} is outside the journey's window ({zone})")
            for pack in packs:
                for rule in pack.rules:
                    if m.channel not in rule.governs():
                        continue
                    label = f"{m.key}: {pack.pack}/{rule.id} in {zone} at {wall}"
                    w = rule.window
                    applies = w is not None and (w.days is None or day in w.days)
                    if w is not None and applies and not w.start <= clock < w.end:
                        found.append(f"{label}: outside {w.start}-{w.end}")
                    c = rule.closed
                    if c is not None and day in c.days:
                        found.append(f"{label}: closed on {day}")
                    if (
                        c is not None
                        and c.holidays
                        and holiday(wall.date(), place.country, place.region)
                    ):
                        found.append(f"{label}: a public holiday")
                    cooling = rule.cooldown is not None and talked is not None
                    if cooling and talked <= m.at < talked + rule.cooldown.per:  # type: ignore[operator,union-attr]
                        found.append(f"{label}: within the cooldown after a conversation")
        for pack in packs:
            for rule in pack.rules:
                if rule.cap is not None and m.channel in rule.governs():
                    within = [
                        x
                        for x in sent
                        if x.channel in rule.governs() and m.at - rule.cap.per < x.at <= m.at
                    ]
                    if len(within) > rule.cap.max:
                        found.append(f"{m.key}: {pack.pack}/{rule.id}: {len(within)} in a period")
        for cap in policy.caps:
            within = [
                x
                for x in sent
                if cap.channel in ("all", x.channel) and m.at - cap.per < x.at <= m.at
            ]
            if cap.channel in ("all", m.channel) and len(within) > cap.max:
                found.append(f"{m.key}: the journey's cap of {cap.max} per {cap.per}")
        earlier = [x for x in sent if x.at < m.at]
        if earlier and m.at - max(x.at for x in earlier) < policy.min_gap:
            found.append(f"{m.key}: closer than the journey's gap")
    return found


async def running(handle: WorkflowHandle[Any, Any]) -> bool:
    return (await handle.describe()).status == WorkflowExecutionStatus.RUNNING


@pytest.mark.slow
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=cases())
async def test_the_timeline_never_breaks_a_rule_of_the_accounts_packs(
    env: WorkflowEnvironment, tmp_path_factory: Any, case: dict[str, Any]
) -> None:
    await check(env, tmp_path_factory, case)


async def check(env: WorkflowEnvironment, tmp_path_factory: Any, case: dict[str, Any]) -> None:
    """Run one drawn case and read every message it sent against the rules."""
    folder = tmp_path_factory.mktemp("drawn")
    book = write_packs(folder, case)
    write_journey(folder, journey(case), TEMPLATES)
    place: Whereabouts = case["place"]
    account_id = f"P-{uuid.uuid4().hex[:10]}"
    address = {"country": place.country, **({"region": place.region} if place.region else {})}
    customer = Account.model_validate(
        account(
            account_id=account_id,
            currency="EUR" if place.country == "IE" else "USD",
            customer__timezone=place.timezone,
            customer__phone=case["phone"],
            customer__address=address,
            consent={"sms": True, "email": True, "voice": True},
        )
    )
    parts = EngineParts(
        journeys=[folder],
        channels={"*": Capture()},
        signer=LinkSigner("k"),
        library=Library([folder], RuleBook()),  # pinned without looking at the packs
        rules=book,
    )
    queue = f"drawn-{uuid.uuid4()}"
    await env.sleep(case["start"])
    talked: datetime | None = None
    async with build_worker(env.client, queue, parts):
        handle = await env.client.start_workflow(
            DelinquencyJourney.run,
            JourneyInput(account=customer, journey="drawn"),
            id=workflow_id(account_id),
            task_queue=queue,
        )
        if case["talk"] is not None:
            await env.sleep(case["talk"])
            if await running(handle):
                talked = await env.get_current_time()
                await handle.signal("conversation", Conversation(talked_at=talked))
        await env.sleep(timedelta(days=case["days"] + 2))
        status = await handle.query(DelinquencyJourney.status)
        if await running(handle):
            await handle.terminate("the example is over")
    assert status.errors == []
    assert broken_rules(status.messages, case, book, talked) == []
