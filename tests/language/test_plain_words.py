"""No message a designer reads leaks the machinery: the schema's or Jinja's own words.

The walk breaks every field of a shipped journey, an account and a scenario in every
way a YAML file can (wrong type, empty, too long, out of range, unknown key, missing
key), and breaks templates and expressions; every message must be free of the
jargon below, and every kind of schema error must have its own wording.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from rapport.language.account import Account
from rapport.language.loader import check_document, validate_model
from rapport.language.problems import DefinitionError, Problem
from rapport.language.wording import _DESCRIBERS
from rapport.language.yaml_source import LineMap, SourceDocument
from rapport.simulation.scenario import Scenario
from tests.journey_files import BASE, problems_of, write_journey

ROOT = Path(__file__).resolve().parents[2]
JARGON = (
    "Input should",
    "dict object",
    "validation error",
    "List should",
    "pydantic",
    "String should",
    "Dictionary should",
    "print statement",
    "Value error",
    "model_",
    "For further information",
    "Error:",  # a Python exception's name (ZeroDivisionError: division by zero)
    "Exception:",
)
BAD_VALUES: list[Any] = [
    None,
    True,
    3.5,
    -1,
    0,
    "",
    "x" * 3000,
    "Not A Slug!",
    [],
    [1],
    {},
    {"k": 1},
    "2028-13-45",
    "25:99",
]
WORDED = {*_DESCRIBERS, "missing", "extra_forbidden"}


def paths(data: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if prefix:
        yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from paths(value, (*prefix, index))


def replaced(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    result = copy.deepcopy(data)
    target = result
    for part in path[:-1]:
        target = target[part]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return result


_DELETE = object()


def breakages(data: dict[str, Any]) -> Iterator[Any]:
    for path in paths(data):
        for value in BAD_VALUES:
            yield replaced(data, path, value)
        if isinstance(path[-1], str):
            yield replaced(data, path, _DELETE)
            yield replaced(data, (*path[:-1], f"{path[-1]}x"), 1)


def assert_plain(messages: list[str]) -> None:
    for message in messages:
        for word in JARGON:
            assert word not in message, message


def schema_error_types(model: type[BaseModel], data: Any) -> set[str]:
    try:
        model.model_validate(data)
    except ValidationError as exc:
        return {e["type"] for e in exc.errors()}
    return set()


def document(data: Any) -> SourceDocument:
    return SourceDocument("walk.yaml", data, LineMap())


@pytest.mark.slow
def test_every_schema_error_of_a_definition_reads_plainly(tmp_path: Path) -> None:
    """The definition checks too, on what the schema left: no templates folder, so
    every message's template is missing, and nothing renders (the walk stays fast)."""
    source = yaml.safe_load((ROOT / "journeys" / "early_stage.yaml").read_text())
    path = tmp_path / "walk.yaml"
    messages, types = [], set()
    for broken in breakages(source):
        try:
            check_document(document(broken), path)
        except DefinitionError as exc:
            messages += [p.message for p in exc.problems]
        types |= schema_error_types(_definition_model(), broken)
    assert len(messages) > 1000
    assert_plain(messages)
    assert types <= WORDED, f"give these schema errors their own words: {types - WORDED}"


@pytest.mark.slow
def test_every_schema_error_of_the_new_keys_reads_plainly(tmp_path: Path) -> None:
    """The follow-up journey uses a wait_until, the journey's facts and `transactional`:
    every way of breaking them reads plainly too."""
    source = yaml.safe_load((ROOT / "journeys" / "follow_up.yaml").read_text())
    path = tmp_path / "walk.yaml"
    messages, types = [], set()
    for broken in breakages(source):
        try:
            check_document(document(broken), path)
        except DefinitionError as exc:
            messages += [p.message for p in exc.problems]
        types |= schema_error_types(_definition_model(), broken)
    assert any("wait_until" in m or "any_of" in m for m in messages)
    assert len(messages) > 500
    assert_plain(messages)
    assert types <= WORDED, f"give these schema errors their own words: {types - WORDED}"


def _definition_model() -> type[BaseModel]:
    from rapport.language.models import JourneyDefinition

    return JourneyDefinition


@pytest.mark.parametrize(
    ("model", "source"),
    [
        (Account, ROOT / "examples" / "accounts" / "card_declined.yaml"),
        (Scenario, ROOT / "examples" / "scenarios" / "card_declined_partial_then_plan.yaml"),
    ],
    ids=["account", "scenario"],
)
def test_every_schema_error_of_an_account_and_a_scenario_reads_plainly(
    model: type[BaseModel], source: Path
) -> None:
    data = yaml.safe_load(source.read_text())
    if model is Scenario:
        data["account"] = yaml.safe_load(
            (ROOT / "examples" / "accounts" / "card_declined.yaml").read_text()
        )
        data.pop("account_file")
    messages, types = [], set()
    for broken in breakages(data):
        try:
            validate_model(model, document(broken))
        except DefinitionError as exc:
            messages += [p.message for p in exc.problems]
        types |= schema_error_types(model, broken)
    assert len(messages) > 250
    assert_plain(messages)
    assert types <= WORDED, f"give these schema errors their own words: {types - WORDED}"


BROKEN_TEMPLATES = [
    "{{ links.pay_online }}",
    "{{ customer.nickname }}",
    "{{ customer.first_name.nope }}",
    "{{ account.attributes.missing.deeper }}",
    "{{ plan.options }}",
    "{{ nobody }}",
    "{{ balance.nope }}",
    "{{ customer['nick'] }}",
    "{{ account['history']['x'] }}",
    "{% for o in plan %}{{ o.x }}{% endfor %}",
    "{{ customer.first_name | nofilter }}",
    "{{ customer.first_name | uper }}",
    "{{ 1 / 0 }}",
    "{{ customer.first_name + 1 }}",
    "{% if %}",
    "{{ }}",
    "{{ customer. }}",
    "{% for x in %}",
    "{% include 'nowhere.j2' %}",
    "{{ customer.__class__ }}",
    "{% endif %}",
    "{{ journey.paymens }}",
    "{{ jorney.payments }}",
    "{{ journey.amount_paid.cents }}",
    "{{ journey['replyed'] }}",
    "{{ 10 / (account.days_past_due - account.days_past_due) }}",
    "{% include 'nudge.sms.j2' %}",
    "{% include customer.first_name %}",
    "{% include '../journey.yaml' %}",
    "{{ payment.amount }}",
]
BROKEN_EXPRESSIONS = [
    "journey.mesages_sent > 1",
    "account.histroy.hardship",
    "acount.balance > 1",
    "account.balance.cents > 1",
    "account.balance >",
    "foo(1)",
    "segment ==",
    "account.customer.nickname == 'x'",
    "7 ** (7 ** 9) > 1",
    "journey.amount_payed > 10",
    "journey.replied.when",
    "journey.payments(1) > 0",
]


@pytest.mark.parametrize("template", BROKEN_TEMPLATES)
def test_template_problems_read_plainly(tmp_path: Path, template: str) -> None:
    path = write_journey(tmp_path, templates={"nudge.sms.j2": f"Hi\n{template}\n{{{{ opt_out }}}}"})
    problems = problems_of(path)
    assert problems, template
    assert_plain([p.message for p in problems])


@pytest.mark.parametrize("expression", BROKEN_EXPRESSIONS)
def test_expression_problems_read_plainly(tmp_path: Path, expression: str) -> None:
    text = BASE.replace("template: nudge}", f'template: nudge, when: "{expression}"}}')
    problems: list[Problem] = problems_of(write_journey(tmp_path, text))
    assert problems, expression
    assert_plain([p.message for p in problems])


def test_a_misspelt_filter_is_named(tmp_path: Path) -> None:
    path = write_journey(tmp_path, templates={"nudge.sms.j2": "{{ balance | uper }} {{ opt_out }}"})
    [problem] = problems_of(path)
    assert problem.message == "no filter named 'uper'; did you mean 'upper'?"
