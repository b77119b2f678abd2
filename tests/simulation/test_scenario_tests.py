"""Scenarios as regression tests: `expect:`, `journey test`, SMS replies, and why a
skipped offer's wait is skipped. `make test` runs `journey test examples/scenarios/`
through the first test here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from temporalio.testing import WorkflowEnvironment

from rapport.language.problems import DefinitionError
from rapport.simulation.scenario import load_scenario
from tests.journey_files import BASE, write_journey
from tests.scenarios import simulate_journey

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "examples" / "scenarios").glob("*.yaml"))


def journey_test(*paths: Path | str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rapport.cli", "test", *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )


@pytest.mark.slow
def test_the_shipped_scenarios_meet_their_expectations() -> None:
    proc = journey_test("examples/scenarios/")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[-1] == f"{len(SHIPPED)} scenarios, {len(SHIPPED)} passed, 0 missed"
    assert all(line.startswith("ok    ") for line in lines[:-1])
    assert "expectations met" in lines[0]


@pytest.mark.parametrize("scenario", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_scenario_carries_expectations_and_never_expires(scenario: Path) -> None:
    data = yaml.safe_load(scenario.read_text())
    expect = data.get("expect") or {}
    assert expect.get("outcome"), f"{scenario.name}: expect.outcome"
    assert expect.get("messages"), f"{scenario.name}: expect.messages"
    assert expect.get("sent"), f"{scenario.name}: expect.sent"
    start = str(data.get("start", ""))
    assert start.startswith(("+", "next ")), f"{scenario.name}: a fixed start expires"


def write_scenario(folder: Path, expect: dict[str, Any], **more: Any) -> Path:
    write_journey(folder)
    scenario = {
        "journey": "journey.yaml",
        "start": "next wed 09:00",
        "days": 10,
        "account_file": str(ROOT / "examples" / "accounts" / "loyal_first_miss.yaml"),
        "expect": expect,
        **more,
    }
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False))
    return path


@pytest.mark.slow
def test_each_miss_is_named_with_its_line(tmp_path: Path) -> None:
    path = write_scenario(
        tmp_path,
        {
            "outcome": "paid",
            "messages": {"email": 1, "sms": 3},
            "sent": [{"step": "nudge", "day": 1}, {"step": "reminder", "day": 0}],
            "not_sent": [{"step": "reminder"}],
        },
    )
    proc = journey_test(path)
    assert proc.returncode == 1
    misses = [line for line in proc.stdout.splitlines() if line.startswith("MISS")]
    text = path.read_text().splitlines()
    line = {key: text.index(key) + 1 for key in ("  outcome: paid", "    sms: 3")}
    assert misses == [
        f"MISS  {path}:{line['  outcome: paid']}: expect.outcome: expected outcome paid, got "
        "exhausted",
        f"MISS  {path}:{line['    sms: 3']}: expect.messages.sms: expected 3 sms messages, got 1: "
        "day 2 nudge (sms, nudge)",
        f"MISS  {path}:{text.index('  - step: nudge') + 1}: expect.sent[0]: no message step "
        "nudge, day 1; from step nudge: day 2 nudge (sms, nudge)",
        f"MISS  {path}:{text.index('  - step: reminder', text.index('  not_sent:')) + 1}: "
        "expect.not_sent[0]: expected no message step reminder, got day 0 reminder (email, "
        "reminder)",
    ]
    assert proc.stdout.strip().splitlines()[-1] == "1 scenario, 0 passed, 1 missed"


@pytest.mark.slow
def test_an_expectation_that_can_never_be_met_is_refused(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, {"sent": [{"step": "nuge"}], "messages": {"smss": 1}})
    proc = journey_test(path)
    assert proc.returncode == 1
    assert "expect.sent[0].step: the journey has no step 'nuge'; did you mean 'nudge'?" in (
        proc.stdout
    )
    assert "expect.messages.smss: 'smss' is not a channel; did you mean 'sms'?" in proc.stdout


async def test_an_sms_reply_is_read_as_the_inbound_webhook_reads_it(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    events = [
        {"at": "+1h", "type": "sms_reply", "text": "  Alto. "},  # Spanish, any case
        {"at": "+2h", "type": "sms_reply", "text": "Sure, I'll pay Friday"},
        {"at": "+3h", "type": "sms_reply", "text": "START"},
    ]
    timeline = await simulate_journey(env, tmp_path, BASE, events=events)
    assert [(e["text"], e["means"], e["accepted"]) for e in timeline["events"]] == [
        ("  Alto. ", "opt_out", True),
        ("Sure, I'll pay Friday", "engagement", True),
        ("START", "opt_in", True),  # the consent book records it; no signal
    ]
    assert [(s["step"], s["reason"]) for s in timeline["skipped"]] == [("nudge", "opted_out")]


async def test_a_skipped_offer_says_its_wait_is_skipped_too(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    text = BASE.replace(
        "  - id: pause\n",
        "  - id: plan\n    offer_plan: {channel: email, template: offer, installments: [2, 3],"
        " min_installment: '500.00', respond_within: 7d}\n  - id: pause\n",
    )
    timeline = await simulate_journey(env, tmp_path, text)
    [skipped] = [s for s in timeline["skipped"] if s["step"] == "plan"]
    assert skipped["detail"] == (
        "no plan has installments of at least 500.00 for this balance; the offer's 7d wait "
        "for an answer is skipped with it, so the next step comes 7d sooner"
    )


async def test_days_are_counted_on_the_customers_clock(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Clocks spring forward in New York on Sunday 2031-03-09. The nudge waits for Monday's
    09:00 opening after Friday's 09:00 start (elapsed, 2 days 23 hours): Monday is day 3
    of a Friday start, as the designer reads it, every week of the year."""
    text = BASE.replace(
        "segments:", 'policy: {contact_window: {start: "09:00", end: "17:00"}}\nsegments:'
    ).replace("wait: 2d", "wait: 2d20h")
    timeline = await simulate_journey(env, tmp_path, text, start="2031-03-07T09:00")
    [nudge] = [m for m in timeline["messages"] if m["step"] == "nudge"]
    assert nudge["at"].startswith("2031-03-10T09:0")
    assert nudge["day"] == 3


def test_every_problem_of_a_scenario_in_one_run(tmp_path: Path) -> None:
    """A misspelt event hid the expectations' problems (and the account's) until it was
    fixed: two rounds of `journey test` for one file."""
    path = write_scenario(
        tmp_path,
        {"sent": [{"step": "nuge"}], "messages": {"smss": 1}},
        events=[{"at": "+1d", "type": "payment_recieved", "amount": "20.00"}],
    )
    with pytest.raises(DefinitionError) as raised:
        load_scenario(path)
    said = sorted(f"{p.field}: {p.message}" for p in raised.value.problems)
    assert said[0].startswith(
        "events[0]: type 'payment_recieved' is not known; did you mean 'payment_received'?"
    )
    assert said[1:] == [
        "expect.messages.smss: 'smss' is not a channel; did you mean 'sms'?",
        "expect.sent[0].step: the journey has no step 'nuge'; did you mean 'nudge'?",
    ]
