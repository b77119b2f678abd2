"""The `journey` command: validate, schema, preview, simulate and operate journeys."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

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

if TYPE_CHECKING:
    from rapport.client import Journeys
    from rapport.contracts import JourneyStatus

T = TypeVar("T")


def fail(lines: list[str]) -> NoReturn:
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
    from rapport.schemas import schema

    return schema("journey-definition")


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


def operate(action: Callable[[Journeys], Awaitable[str]]) -> NoReturn:
    """Connect to Temporal, run `action`, print its answer; clear errors, exit 1."""
    from rapport.client import JourneyError, Journeys, connect

    settings = load_settings()

    async def go() -> str:
        return await action(Journeys(await connect(settings), settings))

    try:
        output = asyncio.run(go())
    except JourneyError as exc:
        exit_now(1, [str(exc)])
    except RuntimeError as exc:  # the SDK's connection failure
        exit_now(1, [f"cannot reach Temporal at {settings.temporal_address}: {exc}. "
                     "Is the server running (make run, or python worker.py --dev)?"])
    click.echo(output)
    exit_now(0)


@main.command()
@click.option("--account", "account_file", required=True, type=click.Path(path_type=Path))
@click.option("--journey", "journey_id", default=None, help="Journey id (default: entry rules).")
def start(account_file: Path, journey_id: str | None) -> None:
    """Start the journey of one account (or return the running one)."""
    account = load_account(account_file)

    async def action(journeys: Journeys) -> str:
        handle = await journeys.start(account, journey_id)
        return f"journey {handle.id} running (run {handle.result_run_id})"

    operate(action)


@main.command()
@click.argument("account_id")
@click.option("--json", "as_json", is_flag=True)
def status(account_id: str, as_json: bool) -> None:
    """Where one account's journey is, and what happens next."""

    async def action(journeys: Journeys) -> str:
        found = await journeys.status(account_id)
        return found.model_dump_json(indent=2) if as_json else describe_status(found)

    operate(action)


@main.command(name="list")
@click.option("--journey", "journey_id", default=None)
@click.option("--step", default=None)
@click.option("--segment", default=None)
@click.option("--outcome", default=None, help="paid, plan_accepted, ceased, ... or running")
@click.option("--balance-over", type=str, default=None, help="e.g. 500")
@click.option("--running", is_flag=True, help="Only journeys still running.")
def list_journeys(journey_id: str | None, step: str | None, segment: str | None,
                  outcome: str | None, balance_over: str | None, running: bool) -> None:
    """Journeys, filtered by journey, step, segment, outcome or balance."""
    from rapport.client import list_query

    try:
        over = Decimal(balance_over) if balance_over is not None else None
    except InvalidOperation:
        exit_now(1, [f"--balance-over {balance_over!r} is not an amount such as 500"])

    async def action(journeys: Journeys) -> str:
        rows = await journeys.list(list_query(journey_id, step, segment, outcome, over, running))
        if not rows:
            return "no journeys match"
        return "\n".join([_row(LIST_HEADER)] + [_row(r) for r in rows])

    operate(action)


LIST_HEADER = {"AccountId": "account", "JourneyId": "journey", "JourneyStep": "step",
               "Segment": "segment", "BalanceDue": "balance", "Outcome": "outcome",
               "status": "status"}


def _row(row: dict[str, Any]) -> str:
    cell = {k: "-" if row.get(k) in (None, "") else str(row[k]) for k in LIST_HEADER}
    if isinstance(row.get("BalanceDue"), float):
        cell["BalanceDue"] = f"{row['BalanceDue']:.2f}"
    return (f"{cell['AccountId']:<12} {cell['JourneyId']:<14} {cell['JourneyStep']:<14} "
            f"{cell['Segment']:<18} {cell['BalanceDue']:>10} {cell['Outcome']:<14} "
            f"{cell['status']}")


@main.command()
@click.argument("account_id")
@click.argument("amount")
def pay(account_id: str, amount: str) -> None:
    """Report a payment of AMOUNT (a decimal such as 45.00) on ACCOUNT_ID."""
    try:
        value = parse_amount(amount)
    except ValueError as problem:
        fail([str(problem)])

    async def action(journeys: Journeys) -> str:
        await journeys.pay(account_id, value)
        return f"payment of {value} reported for {account_id}"

    operate(action)


def parse_amount(text: str) -> Decimal:
    """A payment amount as a billing clerk types it; ValueError says what is wrong."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{text!r} is not an amount: give a positive decimal such as 45.00")
    return value


def parse_fields(fields: tuple[str, ...]) -> dict[str, str]:
    """`key=value` arguments of `journey signal`."""
    values: dict[str, str] = {}
    for field in fields:
        key, sep, value = field.partition("=")
        if not sep or not key:
            raise ValueError(f"{field!r}: write fields as key=value, e.g. channel=sms")
        values[key] = value
    return values


def parse_installments(values: dict[str, str]) -> int:
    text = values.get("installments", "")
    if not text.isdecimal() or not text.isascii():
        raise ValueError(f"accept_plan needs installments=N, a whole number (got {text!r})")
    return int(text)


@main.command(name="signal")
@click.argument("account_id")
@click.argument("event")
@click.argument("fields", nargs=-1)
def send_signal(account_id: str, event: str, fields: tuple[str, ...]) -> None:
    """Send EVENT (opt_out, cease_communication, pause, resume, ...) with key=value fields."""
    try:
        values = parse_fields(fields)
        installments = parse_installments(values) if event == "accept_plan" else 0
    except ValueError as problem:
        fail([str(problem)])

    async def action(journeys: Journeys) -> str:
        if event == "accept_plan":
            plan = await journeys.accept_plan(account_id, installments)
            return f"plan accepted: {plan.installments} payments of {plan.amount}"
        await journeys.signal(account_id, event, values)
        return f"{event} sent to {account_id}"

    operate(action)


def describe_status(found: JourneyStatus) -> str:
    lines = [
        f"account {found.account_id}: journey {found.journey_id} v{found.journey_version}, "
        f"segment {found.segment}",
        f"state {found.state}, step {found.step}, outcome {found.outcome or '-'}",
        f"balance {found.balance}, next action {found.next_action_at or '-'}",
        f"messages sent {len(found.messages)}, skipped {len(found.skipped)}, "
        f"suppressed {', '.join(found.suppressed_channels) or 'none'}",
    ]
    lines += [f"  sent    {m.at:%Y-%m-%d %H:%M} UTC  {m.channel:<6} {m.step} ({m.template})"
              for m in found.messages]
    lines += [f"  skipped {s.at:%Y-%m-%d %H:%M} UTC  {s.channel or '-':<6} {s.step}: {s.reason}"
              for s in found.skipped]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
