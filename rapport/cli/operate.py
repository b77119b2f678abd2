"""Commands for billing systems and operators: start, status, list, pay, signal."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from rapport.cli.app import exit_now, fail, load_account, main, operate
from rapport.cli.parsing import parse_amount, parse_fields, parse_installments
from rapport.contract.names import ACCEPT_PLAN_UPDATE

if TYPE_CHECKING:
    from rapport.client import Journeys
    from rapport.contract.journey import JourneyStatus


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


@main.command(name="signal")
@click.argument("account_id")
@click.argument("event")
@click.argument("fields", nargs=-1)
def send_signal(account_id: str, event: str, fields: tuple[str, ...]) -> None:
    """Send EVENT (opt_out, cease_communication, pause, resume, ...) with key=value fields."""
    try:
        values = parse_fields(fields)
        installments = parse_installments(values) if event == ACCEPT_PLAN_UPDATE else 0
    except ValueError as problem:
        fail([str(problem)])

    async def action(journeys: Journeys) -> str:
        if event == ACCEPT_PLAN_UPDATE:
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
