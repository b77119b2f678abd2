"""The language's part of the journey's facts, `wait_until` and `transactional`: each
problem named at its FILE:LINE with a "did you mean", the sample context that checks
expressions and templates, the loop check, and content hashes that do not move for a
journey that uses none of it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rapport.catalog.pinned import PinnedJourney
from rapport.language.checks import SAMPLE_FACTS
from rapport.language.expressions import JOURNEY_FIELDS, ExpressionError, compile_expression
from rapport.language.loader import load_journey
from rapport.language.models import JourneyDefinition
from rapport.language.selection import JourneyFacts
from rapport.language.templates import TemplateBundle
from tests.journey_files import BASE, only_problem, problems_of, write_journey

ROOT = Path(__file__).resolve().parents[2]
PINNED = ROOT / "tests" / "workflows" / "histories" / "v2" / "journeys.json"

WAIT_UNTIL = BASE.replace(
    "  - id: pause\n    wait: 2d\n",
    "  - id: pause\n    wait_until: {any_of: [paid, replied], timeout: 7d}\n",
)


def test_the_facts_are_the_same_names_everywhere() -> None:
    assert tuple(JourneyFacts.model_fields) == JOURNEY_FIELDS
    assert set(SAMPLE_FACTS) == set(JOURNEY_FIELDS)
    for fact in ("amount_paid", "payments", "replied"):
        compile_expression(f"journey.{fact}")


@pytest.mark.parametrize(
    ("written", "meant"),
    [("journey.amount_payed > 0", "amount_paid"), ("journey.payment == 0", "payments")],
)
def test_a_misspelt_fact_in_an_expression_gets_a_did_you_mean(written: str, meant: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(written)
    assert f"did you mean {meant!r}" in str(caught.value)


def test_facts_in_a_condition_and_a_template_validate_against_the_sample(tmp_path: Path) -> None:
    text = BASE.replace(
        "template: nudge}",
        'template: nudge, when: "journey.payments == 0 and not journey.replied"}',
    )
    nudge = (
        "{{ journey.amount_paid }} paid in {{ journey.payments }} "
        "{% if journey.replied %}thanks{% endif %} {{ opt_out }}"
    )
    assert problems_of(write_journey(tmp_path, text, {"nudge.sms.j2": nudge})) == []


def test_a_misspelt_fact_in_a_template_is_named_on_its_line(tmp_path: Path) -> None:
    path = write_journey(
        tmp_path, templates={"nudge.sms.j2": "Hi\n{{ journey.replyed }} {{ opt_out }}"}
    )
    problem = only_problem(path)
    assert (problem.file, problem.line) == (str(tmp_path / "templates" / "nudge.sms.j2"), 2)
    assert problem.message == "journey has no 'replyed'; did you mean 'replied'?"
    path = write_journey(
        tmp_path, templates={"nudge.sms.j2": "{{ jorney.payments }} {{ opt_out }}"}
    )
    assert "did you mean 'journey'?" in only_problem(path).message


def test_a_wait_until_is_valid_and_sends_nothing(tmp_path: Path) -> None:
    path = write_journey(tmp_path, WAIT_UNTIL)
    assert problems_of(path) == []
    step = load_journey(path).definition.steps[1]
    assert step.model_dump(mode="json") == {
        "id": "pause",
        "wait_until": {"any_of": ["paid", "replied"], "timeout": "1w"},
    }


@pytest.mark.parametrize(
    ("written", "field", "said"),
    [
        (
            "{any_of: [paid, replyed], timeout: 7d}",
            "steps[1].wait_until.any_of[1]",
            "did you mean 'replied'?",
        ),
        (
            "{any_of: [paid], timeout: 0}",
            "steps[1].wait_until.timeout",
            "timeout must be longer than 0",
        ),
        (
            "{any_of: [paid, paid], timeout: 7d}",
            "steps[1].wait_until.any_of",
            "'paid' is listed twice",
        ),
        ("{any_of: [], timeout: 7d}", "steps[1].wait_until.any_of", "is empty: give at least 1"),
        ("{any_of: [paid]}", "steps[1].wait_until.timeout", "required"),
        ("{any_of: [paid], timeout: a week}", "steps[1].wait_until.timeout", "1d12h"),
        (
            "{any_of: [paid], timeout: 7d, timout: 8d}",
            "steps[1].wait_until.timout",
            "did you mean 'timeout'?",
        ),
    ],
)
def test_a_wrong_wait_until_is_named_at_its_line(
    tmp_path: Path, written: str, field: str, said: str
) -> None:
    text = WAIT_UNTIL.replace("{any_of: [paid, replied], timeout: 7d}", written)
    problem = only_problem(write_journey(tmp_path, text))
    assert (problem.line, problem.field) == (10, field)
    assert said in problem.message


def test_a_misspelt_step_kind_suggests_wait_until(tmp_path: Path) -> None:
    text = WAIT_UNTIL.replace("wait_until:", "wait_untill:")
    problem = only_problem(write_journey(tmp_path, text))
    assert problem.field == "steps[1]"
    assert "did you mean 'wait_until'?" in problem.message


def test_a_loop_through_a_wait_until_is_a_loop_with_a_wait(tmp_path: Path) -> None:
    """It always waits: its timeout is required, and only what happens while it waits
    ends it early, so each time round it waits for something new."""
    loop = (
        "  - id: back\n    branch:\n      - {when: 'journey.messages_sent < 5', goto: reminder}\n"
    )
    assert problems_of(write_journey(tmp_path, WAIT_UNTIL + loop)) == []
    no_wait = WAIT_UNTIL.replace(
        "  - id: pause\n    wait_until: {any_of: [paid, replied], timeout: 7d}\n", ""
    )
    problem = only_problem(write_journey(tmp_path, no_wait + loop))
    assert "has no wait step (a wait or a wait_until" in problem.message


def test_transactional_is_true_or_false_on_a_send_or_a_notice(tmp_path: Path) -> None:
    text = BASE.replace("template: nudge}", "template: nudge, transactional: true}") + (
        "on_paid:\n  send: {channel: email, template: thanks, transactional: false}\n"
    )
    assert problems_of(write_journey(tmp_path, text)) == []
    wrong = BASE.replace("template: nudge}", "template: nudge, transactional: maybe}")
    problem = only_problem(write_journey(tmp_path, wrong))
    assert (problem.line, problem.field) == (12, "steps[2].send.transactional")
    assert "'maybe' is not true or false" in problem.message
    offer = BASE.replace(
        "    send: {channel: sms, template: nudge}",
        "    offer_plan: {channel: email, template: offer, installments: [2], "
        "respond_within: 3d, transactional: true}",
    )
    problem = only_problem(write_journey(tmp_path, offer))
    assert problem.field == "steps[2].offer_plan.transactional"
    assert "unknown key 'transactional'" in problem.message


def test_the_pinned_journeys_keep_their_content_hashes() -> None:
    """The archive finds a pinned version by the hash of its stored form: a definition
    that does not use the new keys dumps as it did before they existed."""
    pinned = json.loads(PINNED.read_text())
    assert len(pinned) >= 3
    for content_hash, stored in pinned.items():
        definition = JourneyDefinition.model_validate(stored["definition"])
        dumped = json.dumps(definition.model_dump(mode="json"))
        assert ("transactional" in dumped) == ("transactional" in json.dumps(stored))
        journey = PinnedJourney.of(definition, TemplateBundle(stored["templates"]), "")
        assert journey.pin.hash == content_hash


def test_a_journey_that_uses_them_keeps_them_in_its_stored_form(tmp_path: Path) -> None:
    text = WAIT_UNTIL.replace("template: nudge}", "template: nudge, transactional: true}")
    definition = load_journey(write_journey(tmp_path, text)).definition
    stored = definition.model_dump_json()
    again = JourneyDefinition.model_validate_json(stored)
    assert again == definition
    assert '"transactional":true' in stored
    assert '"wait_until"' in stored


def test_a_send_carries_the_facts_only_when_its_template_reads_them(tmp_path: Path) -> None:
    nudge = "{{ journey.amount_paid }} paid {{ opt_out }}"
    journey = load_journey(write_journey(tmp_path, templates={"nudge.sms.j2": nudge}))
    pinned = PinnedJourney.loaded(journey)
    assert pinned.reads_facts("nudge.sms.j2")
    assert not pinned.reads_facts("reminder.sms.j2")
