"""Property-based: random and mutated input to every entry point gets a clear error or a
valid result; never a traceback, a stuck workflow or a failed workflow task."""

from __future__ import annotations

import asyncio
import copy
import json
import random
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from rapport.cli import main
from rapport.cli.parsing import parse_fields, parse_installments
from rapport.contract.names import workflow_id
from rapport.contract.signals import SIGNALS as SIGNAL_TABLE
from rapport.language.account import Account
from rapport.language.loader import load_journey, validate_model
from rapport.language.problems import DefinitionError
from rapport.language.yaml_source import parse_yaml
from rapport.money import parse_amount
from rapport.providers.outbox import Capture
from rapport.runtime.workers import EngineParts, build_worker
from rapport.security.links import LinkSigner
from rapport.simulation.scenario import load_scenario
from tests.journey_files import TEMPLATES, write_journey
from tests.scenarios import ACCOUNT, account
from workflows.journey import DelinquencyJourney
from workflows.state import JourneyInput

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = yaml.safe_load((ROOT / "journeys" / "early_stage.yaml").read_text())
SCENARIO = yaml.safe_load(
    (ROOT / "examples/scenarios/card_declined_partial_then_plan.yaml").read_text()
)
FAST = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.sampled_from(["2d", "0", "-1d", "08:00", "{{", "__class__", "email"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += paths(value, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, original: Any) -> Any:
    """The original with a few parts replaced, deleted or given unknown keys."""
    data = copy.deepcopy(original)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths(data)))
        if not path:
            continue
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["replace", "delete", "extra"]))
        if action == "replace":
            parent[path[-1]] = draw(values)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=8))] = draw(values)
    return data


def expect_valid_or_clear(action: Any) -> None:
    """`action` succeeds, or raises DefinitionError with clear problems; nothing else."""
    try:
        action()
    except DefinitionError as exc:
        assert_clear(exc.problems)


def assert_clear(problems: list[Any]) -> None:
    assert problems, "an error must say what is wrong"
    for problem in problems:
        assert problem.line >= 1
        assert problem.field
        assert problem.message
        assert "Traceback" not in problem.message


@pytest.mark.slow
@FAST
@given(definition=mutated(SHIPPED))
def test_mutated_definitions(tmp_path_factory: pytest.TempPathFactory, definition: Any) -> None:
    folder = tmp_path_factory.mktemp("defs")
    path = write_journey(folder, yaml.safe_dump(definition, allow_unicode=True))
    expect_valid_or_clear(lambda: load_journey(path))


@pytest.mark.slow
@FAST
@given(text=st.text(max_size=300))
def test_random_yaml_text(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    path = tmp_path_factory.mktemp("text") / "journey.yaml"
    path.write_text(text)
    expect_valid_or_clear(lambda: load_journey(path))


@pytest.mark.slow
@FAST
@given(source=st.text(max_size=120))
def test_random_templates(tmp_path_factory: pytest.TempPathFactory, source: str) -> None:
    folder = tmp_path_factory.mktemp("tpl")
    path = write_journey(folder, templates={"nudge.sms.j2": source + " {{ opt_out }}"})
    expect_valid_or_clear(lambda: load_journey(path))


@FAST
@given(data=mutated(ACCOUNT))
def test_mutated_accounts(data: Any) -> None:
    document = parse_yaml("{}", "account.yaml")
    document.data = data
    expect_valid_or_clear(lambda: validate_model(Account, document))


@pytest.mark.slow
@FAST
@given(
    data=mutated(
        {
            **SCENARIO,
            "journey": str(ROOT / "journeys/early_stage.yaml"),
            "account_file": str(ROOT / "examples/accounts/card_declined.yaml"),
        }
    )
)
def test_mutated_scenarios(tmp_path_factory: pytest.TempPathFactory, data: Any) -> None:
    path = tmp_path_factory.mktemp("scenario") / "scenario.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    expect_valid_or_clear(lambda: load_scenario(path))


@pytest.mark.slow
@FAST
@given(data=mutated(ACCOUNT))
def test_preview_with_mutated_account_files(
    tmp_path_factory: pytest.TempPathFactory, data: Any
) -> None:
    """`journey preview` shows messages or exits 1 naming the file: never a traceback."""
    path = tmp_path_factory.mktemp("preview") / "account.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    result = CliRunner().invoke(
        main, ["preview", str(ROOT / "journeys/early_stage.yaml"), "--account", str(path)]
    )
    assert result.exit_code in (0, 1), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    if result.exit_code == 1:
        assert str(path) in result.output


@FAST
@given(amount=st.one_of(st.text(max_size=20), st.decimals().map(str)))
def test_random_payment_amounts(amount: str) -> None:
    try:
        value = parse_amount(amount)
    except ValueError as problem:
        assert repr(amount) in str(problem)  # noqa: PT017  (hypothesis: either outcome is checked)
    else:
        assert value.is_finite()
        assert value > 0


@FAST
@given(fields=st.lists(st.text(max_size=15), max_size=4))
def test_random_signal_fields(fields: list[str]) -> None:
    try:
        values = parse_fields(tuple(fields))
        installments = parse_installments(values)
    except ValueError as problem:
        # PT017: hypothesis checks either outcome, so the assertion sits in the except
        assert "key=value" in str(problem) or "installments=N" in str(problem)  # noqa: PT017
    else:
        assert installments >= 0


SIGNALS = list(SIGNAL_TABLE)  # every signal the journey takes, so a new one is fuzzed too
JOURNEY = """\
id: fuzzed
version: 1
name: Fuzzed
steps:
  - {id: reminder, send: {channel: email, template: reminder}}
  - {id: plan, offer_plan: {channel: email, template: offer, installments: [2, 3], respond_within: 30d}}
"""


ENDINGS = ("cease_communication", "closed_by_billing")  # they end the journey: sent last


async def test_random_signal_and_update_payloads_never_fail_a_workflow_task(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    write_journey(tmp_path, JOURNEY)
    queue = f"fuzz-{uuid.uuid4()}"
    parts = EngineParts(journeys=[tmp_path], channels={"*": Capture()}, signer=LinkSigner("k"))
    chance = random.Random(20281)  # fixed: the same 60 payloads every run
    odd: list[Any] = [
        None,
        True,
        -1,
        0,
        1e308,
        "abc",
        "-5.00",
        "0",
        "1e9",
        "",
        [],
        {},
        {"x": 1},
        "sms",
        "fax",
        "opened",
        "12.345",
        "\u0000",
        "9" * 40,
    ]
    examples = []
    for _ in range(60):
        name = chance.choice([n for n in SIGNALS if n not in ENDINGS])
        key = chance.choice(["amount", "channel", "kind", "reason", "paid_at", "extra"])
        examples.append((name, chance.choice([chance.choice(odd), {key: chance.choice(odd)}])))
    examples += [(name, None) for name in SIGNALS if name not in ENDINGS]
    async with build_worker(env.client, queue, parts):
        handle = await env.client.start_workflow(
            DelinquencyJourney.run,
            JourneyInput(account=Account.model_validate(account()), journey="fuzzed"),
            id=workflow_id("T-1"),
            task_queue=queue,
        )
        await env.sleep(timedelta(hours=25))  # both messages are out; the plan is offered
        for name, payload in examples:
            await handle.signal(name, json.loads(json.dumps(payload, default=str)))
        # A failed workflow task would stall what follows: bound each wait so it fails.
        for installments in (-1, 0, 4, 10**9, None):
            with pytest.raises(WorkflowUpdateFailedError):
                await asyncio.wait_for(
                    handle.execute_update(
                        "accept_plan",
                        None if installments is None else {"installments": installments},
                    ),
                    30,
                )
        status = await asyncio.wait_for(handle.query(DelinquencyJourney.status), 30)
        assert status.outcome in (None, "paid")
        await handle.signal("cease_communication", {})
        await asyncio.wait_for(handle.result(), 30)
        history = await handle.fetch_history()
    failed = [
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    ]
    assert failed == []
    assert TEMPLATES  # the templates the fuzzed journey uses exist
