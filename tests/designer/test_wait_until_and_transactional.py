"""The designer's tools on a `wait_until`, a transactional message and the journey's
facts: the diagram draws them, the diff names their changes, preview says what they do."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from rapport.cli import main
from tests.journey_files import BASE, write_journey

ROOT = Path(__file__).resolve().parents[2]
FOLLOW_UP = str(ROOT / "journeys" / "follow_up.yaml")
LOYAL = str(ROOT / "examples" / "accounts" / "loyal_first_miss.yaml")
WAITING = BASE.replace(
    "  - id: pause\n    wait: 2d\n",
    "  - id: pause\n    wait_until: {any_of: [paid, replied], timeout: 7d}\n",
)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_the_diagram_draws_what_ends_a_wait_until_and_what_goes_at_once() -> None:
    code, out = run("diagram", FOLLOW_UP)
    assert code == 0, out
    assert (
        'n_time_to_answer["<b>time_to_answer</b><br/>wait until paid or replied, at most 10d"]'
        in out
    )
    assert "class n_time_to_answer wait" in out
    assert 'n_route -->|"if journey.payments == 0"| n_plan' in out
    partial = next(line for line in out.splitlines() if "n_on_partial_payment[" in line)
    assert "transactional: skips min_gap and caps" in partial
    paid = next(line for line in out.splitlines() if "n_on_paid[" in line)
    assert "transactional: skips min_gap and caps" in paid  # on_paid is, unless it says not


def test_the_diff_names_a_wait_until_and_transactional_changes(tmp_path: Path) -> None:
    old = write_journey(tmp_path / "v1", WAITING)
    newer = (
        WAITING.replace("version: 1", "version: 2")
        .replace("any_of: [paid, replied], timeout: 7d", "any_of: [replied], timeout: 10d")
        .replace("template: nudge}", "template: nudge, transactional: true}")
    )
    code, out = run("diff", str(old), str(write_journey(tmp_path / "v2", newer)))
    assert code == 0, out
    assert "pause: waits until: paid, replied -> replied" in out
    assert "pause: timeout: 7d -> 10d" in out
    assert "nudge: transactional (skips min_gap and caps): no -> yes" in out
    code, out = run("diff", str(write_journey(tmp_path / "v0")), str(old))
    assert "pause: was wait 2d; now wait until paid or replied, at most 7d" in out


def test_preview_says_what_a_wait_until_waits_for() -> None:
    code, out = run("preview", FOLLOW_UP, "--account", LOYAL, "--step", "time_to_answer")
    assert code == 0, out
    assert out.strip().endswith(
        "(step 'time_to_answer' is a wait_until: it sends nothing; it waits until paid or "
        "replied, at most 10d)"
    )


def test_preview_marks_a_transactional_message_and_shows_the_facts_it_reads() -> None:
    code, out = run("preview", FOLLOW_UP, "--account", LOYAL, "--step", "on_partial_payment")
    assert code == 0, out
    assert "(transactional: goes without waiting for min_gap or the caps" in out
    code, out = run("preview", FOLLOW_UP, "--account", LOYAL, "--step", "progress")
    assert code == 0, out
    assert "(as if journey.payments is 1, journey.amount_paid 45.00, journey.replied false)" in out
    assert "Subject: Thank you: $45.00 paid so far" in out
    assert "transactional" not in out
