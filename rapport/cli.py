"""The `journey` command: validate, schema, preview, simulate and operate journeys."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from rapport.language.account import Account
from rapport.language.loader import LoadedJourney, load_all, load_journey, validate_model
from rapport.language.models import JourneyDefinition, OfferPlanStep, PlanOffer, SendStep
from rapport.language.problems import DefinitionError
from rapport.language.templates import TemplateProblem
from rapport.language.yaml_source import load_yaml
from rapport.messages import PlanOffered, message_context
from rapport.policy.plans import plan_options
from rapport.selection import JourneyFacts, choose_segment, expression_context
from rapport.settings import load_settings

T = TypeVar("T")


def fail(lines: list[str]) -> None:
    for line in lines:
        click.echo(line, err=True)
    sys.exit(1)


def reporting_problems(action: Callable[[], T]) -> T:
    """Run `action`; a DefinitionError becomes one line per problem and exit 1."""
    try:
        return action()
    except DefinitionError as exc:
        fail([str(p) for p in exc.problems])
        raise AssertionError("unreachable") from None


def exit_now(code: int, errors: list[str] | None = None) -> NoReturn:
    """Exit without interpreter finalization once a Temporal runtime has run: its native
    threads can abort the process while Python shuts down, turning success into a crash."""
    for line in errors or []:
        click.echo(line, err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def quiet_temporal_logs() -> None:
    """Keep the SDK's worker chatter out of a designer's terminal; errors still show."""
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("temporalio").setLevel(logging.ERROR)


def load_account(path: Path) -> Account:
    return reporting_problems(lambda: validate_model(Account, load_yaml(path)))


@click.group()
def main() -> None:
    """Rapport journeys: write, check, try and run them."""


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def validate(paths: tuple[Path, ...]) -> None:
    """Check definitions and their templates (default: journeys/)."""
    journeys, problems = load_all(list(paths) or [Path("journeys")])
    for problem in sorted(problems):
        click.echo(str(problem))
    if problems:
        sys.exit(1)
    for journey in journeys:
        click.echo(f"ok  {journey.path}  ({journey.definition.id} v{journey.definition.version})")


@main.command()
def schema() -> None:
    """Print the JSON Schema of a journey definition, for editors."""
    click.echo(json.dumps(definition_schema(), indent=2))


def definition_schema() -> dict[str, Any]:
    schema = JourneyDefinition.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


@main.command()
@click.argument("definition", type=click.Path(path_type=Path))
@click.option("--account", "account_file", required=True, type=click.Path(path_type=Path))
@click.option("--step", "step_id", default=None, help="Only this step's message.")
def preview(definition: Path, account_file: Path, step_id: str | None) -> None:
    """Render the messages a journey would send to one account."""
    journey = reporting_problems(lambda: load_journey(definition))
    account = load_account(account_file)
    try:
        click.echo(render_preview(journey, account, step_id))
    except (TemplateProblem, KeyError) as exc:
        fail([str(exc)])


def render_preview(journey: LoadedJourney, account: Account, step_id: str | None) -> str:
    definition = journey.definition
    context = expression_context(account, account.balance, "default", JourneyFacts())
    segment, _ = choose_segment(definition, context)
    settings = load_settings()
    signer = settings.signer()
    now = datetime.now(UTC)
    blocks = [f"journey {definition.id} v{definition.version}, account {account.account_id}, "
              f"segment {segment}"]
    if step_id is not None and step_id not in definition.step_index():
        raise KeyError(f"{journey.path}: no step has id {step_id!r}")
    for path, message in definition.messages():
        label = _label(definition, path)
        if step_id is not None and label != step_id:
            continue
        plan = None
        if isinstance(message, PlanOffer):
            options = plan_options(account.balance, message.installments, message.min_installment)
            plan = PlanOffered(options=options, offered=[o.installments for o in options],
                               min_installment=message.min_installment,
                               first_due=(now + message.respond_within).date())
        template = message.template_for(segment)
        ctx = message_context(account, account.balance, message.channel, signer, now, plan)
        rendered = journey.templates.render(template, message.channel, ctx)
        head = f"--- {label}: {message.channel}, template {template}"
        lines = [head]
        if rendered.subject is not None:
            lines.append(f"Subject: {rendered.subject}")
        lines += ["", rendered.body]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _label(definition: JourneyDefinition, path: tuple[str | int, ...]) -> str:
    if path[0] == "steps":
        step = definition.steps[int(path[1])]
        assert isinstance(step, SendStep | OfferPlanStep)
        return step.id
    return str(path[0])


@main.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the timeline as JSON.")
def simulate(scenario: Path, as_json: bool) -> None:
    """Run a scenario through the real workflow on the time-skipping server."""
    from rapport.simulation.runner import ScenarioError
    from rapport.simulation.runner import simulate as run_simulation
    from rapport.simulation.scenario import load_scenario
    from rapport.simulation.timeline import table, timeline

    loaded = reporting_problems(lambda: load_scenario(scenario))
    quiet_temporal_logs()
    try:
        run = asyncio.run(run_simulation(loaded))
    except ScenarioError as exc:
        exit_now(1, [str(exc)])
    except Exception as exc:  # the server or worker failed: say so, no traceback
        exit_now(1, [f"{scenario}: the simulation could not run: {type(exc).__name__}: {exc}"])
    data = timeline(run)
    click.echo(json.dumps(data, indent=2, ensure_ascii=False) if as_json else table(data))
    exit_now(0)


@main.command()
@click.option("--account", "account_id", default=None, help="Only this account's messages.")
@click.option("--full", is_flag=True, help="Show whole bodies, not first lines.")
def outbox(account_id: str | None, full: bool) -> None:
    """Show the local outbox, where messages go when no real channel is configured."""
    from activities.channels import read_outbox

    path = load_settings().outbox_path
    entries = [e for e in read_outbox(path) if account_id in (None, e["account_id"])]
    if not entries:
        click.echo(f"{path}: no messages yet")
    for entry in entries:
        first = entry["subject"] or entry["body"].split("\n")[0]
        click.echo(f"{entry['at']}  {entry['account_id']:<10} {entry['channel']:<8} "
                   f"{entry['to']:<24} {first}")
        if full:
            click.echo(entry["body"] + "\n")


if __name__ == "__main__":
    main()
