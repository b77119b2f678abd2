"""`journey simulate` as a designer runs it: the example scenarios, the JSON contract,
and clear errors for a bad scenario."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from tests.scenarios import opening

ROOT = Path(__file__).resolve().parents[2]


def simulate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rapport.cli", "simulate", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )


@pytest.mark.slow
def test_json_timeline_follows_the_contract() -> None:
    """The scenario starts next Wednesday at 07:30 Dana's time (`start: next wed 07:30`)."""
    proc = simulate(str(ROOT / "examples/scenarios/loyal_pays_after_reminder.yaml"), "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["journey"] == {"id": "early-stage", "version": 2}
    assert (data["account_id"], data["segment"], data["outcome"]) == (
        "A-1001",
        "loyal_first_miss",
        "paid",
    )
    start = datetime.fromisoformat(data["start"])
    assert (start.strftime("%a %H:%M"), start.utcoffset()) in (
        ("Wed 07:30", timedelta(hours=-8)),
        ("Wed 07:30", timedelta(hours=-7)),  # Los Angeles in summer
    )
    first = data["messages"][0]
    window_opens = start.replace(hour=8, minute=0).isoformat()
    assert {k: first[k] for k in ("step", "channel", "template", "at", "day")} == {
        "step": "reminder",
        "channel": "email",
        "template": "reminder_loyal",
        "at": opening(window_opens, "A-1001"),
        "day": 0,
    }
    assert first["subject"].startswith("We missed your payment, Dana")
    assert "Thank you for 62 months" in first["body"]
    [event] = data["events"]
    assert datetime.fromisoformat(event["at"]) - start == timedelta(days=2, hours=3)
    assert {k: v for k, v in event.items() if k != "at"} == {
        "day": 2,
        "type": "payment_received",
        "amount": "182.40",
        "payment_id": "scenario-payment-1",
        "accepted": True,
    }
    assert [m["template"] for m in data["messages"]] == ["reminder_loyal", "thank_you"]


@pytest.mark.slow
def test_an_example_scenario_reads_well() -> None:
    """Every example runs, and meets its expectations, in tests/simulation (journey test)."""
    proc = simulate(str(ROOT / "examples/scenarios/behind_no_response.yaml"))
    assert proc.returncode == 0, proc.stderr
    assert "customer-local time" in proc.stdout
    assert "outcome: handed_off, 5 messages" in proc.stdout
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_invalid_scenario_exits_1_with_file_line_field(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.yaml"
    scenario.write_text(
        "journey: early-stage\n"
        "days: 0\n"
        "account_file: nowhere.yaml\n"
        "events:\n"
        "  - {at: tomorrow, type: payment_received, amount: '5.00'}\n"
        "  - {at: +1d, type: opt_out}\n"
    )
    proc = simulate(str(scenario))
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert lines == [
        f"{scenario}:2: days: 0 is too small: at least 1",
        f"{scenario}:3: account_file: no such file: {tmp_path / 'nowhere.yaml'}",
        f"{scenario}:5: events[0].at: 'tomorrow' is neither an offset such as +3d2h nor a "
        "local time such as 2028-03-05T10:00",
        f"{scenario}:6: events[1].channel: required",
    ]


@pytest.mark.slow
def test_invalid_definition_exits_1_with_the_validators_messages(tmp_path: Path) -> None:
    from tests.journey_files import BASE, write_journey

    write_journey(tmp_path, BASE.replace("wait: 2d", "wait: 2 days"))
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        f"journey: journey.yaml\naccount_file: {ROOT / 'examples/accounts/due_soon.yaml'}\n"
    )
    proc = simulate(str(scenario))
    assert proc.returncode == 1
    assert f"{tmp_path / 'journey.yaml'}:10: steps[1].wait:" in proc.stderr


@pytest.mark.slow
def test_start_in_the_past_is_explained(tmp_path: Path) -> None:
    scenario = tmp_path / "past.yaml"
    scenario.write_text(
        f"journey: {ROOT / 'journeys/pre_due.yaml'}\nstart: '2020-01-01T09:00'\n"
        f"account_file: {ROOT / 'examples/accounts/due_soon.yaml'}\n"
    )
    proc = simulate(str(scenario))
    assert proc.returncode == 1
    assert "is in the past" in proc.stderr


@pytest.mark.slow  # two simulations in subprocesses
def test_json_shows_each_installment_due_and_paid() -> None:
    """A plan broken, then a second kept: each plan in order, each installment's due date,
    amount, what was paid and when, and its state."""
    scenario = ROOT / "examples/scenarios/plan_missed_then_second_plan.yaml"
    proc = simulate(str(scenario), "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["outcome"] == "paid"
    first, second = data["plans"]
    assert (first["number"], first["state"], first["every"]) == (1, "broken", "fortnightly")
    assert [i["state"] for i in first["installments"]] == ["missed", "due", "due"]
    assert [i["amount"] for i in first["installments"]] == ["60.80", "60.80", "60.80"]
    assert second["state"] == "paid"
    (one, two) = second["installments"]
    due_one, due_two = (date.fromisoformat(i["due"]) for i in (one, two))
    assert due_two - due_one == timedelta(days=14)
    for row in (one, two):  # each paid the day before it fell due (a Sunday)
        assert (row["amount"], row["paid"], row["state"]) == ("91.20", "91.20", "paid")
        assert date.fromisoformat(row["paid_on"]) == date.fromisoformat(row["due"]) - timedelta(1)
    text = simulate(str(scenario))
    assert "plan 1 (fortnightly): broken" in text.stdout
    assert "plan 2 (fortnightly): paid" in text.stdout
