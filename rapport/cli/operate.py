"""Commands for billing systems and operators: start, status, list, pay, update, signal."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from rapport.cli.app import exit_now, fail, load_account, main, operate
from rapport.cli.app import reporting_problems as checked
from rapport.cli.parsing import parse_fields, parse_installments, parse_update
from rapport.cli.records import record_signal
from rapport.contract.names import ACCEPT_PLAN_UPDATE
from rapport.language.yaml_source import load_yaml
from rapport.money import parse_amount

if TYPE_CHECKING:
    from rapport.client import Journeys
    from rapport.contract.journey import JourneyStatus


@main.command()
@click.option("--account", "account_file", required=True, type=click.Path(path_type=Path))
@click.option("--journey", "journey_id", default=None, help="Journey id (default: entry rules).")
def start(account_file: Path, journey_id: str | None) -> None:
    """Start the journey of one account (or return the running one)."""
    from rapport.catalog.library import expected
    from rapport.runtime.settings import load_settings

    account = load_account(account_file)
    chosen = expected(load_settings().journeys_dir, journey_id, account)

    async def action(journeys: Journeys) -> str:
        started = await journeys.start(account, journey_id, expected=chosen)
        handle = started.handle
        line = f"journey {handle.id} running (run {handle.result_run_id})"
        if started.differs:
            line += (
                f"\nnote: this journey was already running with other data for "
                f"{account.account_id}; it keeps its own. Send the change with: journey "
                f"update {account.account_id} key=value ... (or --file FILE)"
            )
        elif started.already_running:
            line += " (already running, same data)"
        return line

    operate(action)


@main.command()
@click.argument("account_id")
@click.option("--json", "as_json", is_flag=True)
def status(account_id: str, as_json: bool) -> None:
    """Where one account's journey is, and what happens next."""

    async def action(journeys: Journeys) -> str:
        ended = await journeys.ended_badly(account_id)
        if ended is not None:  # failed, terminated...: why, in one line
            state, why = ended
            if as_json:
                return json.dumps({"account_id": account_id, "state": state, "why": why})
            return f"account {account_id}: journey {state}: {why}"
        found = await journeys.status(account_id)
        return found.model_dump_json(indent=2) if as_json else describe_status(found)

    operate(action)


@main.command(name="list")
@click.option("--journey", "journey_id", default=None)
@click.option("--step", default=None)
@click.option("--segment", default=None)
@click.option(
    "--outcome", default=None, help="paid, on_plan, plan_accepted, ceased, ... or running"
)
@click.option("--balance-over", type=str, default=None, help="e.g. 500")
@click.option("--running", is_flag=True, help="Only journeys still running.")
def list_journeys(
    journey_id: str | None,
    step: str | None,
    segment: str | None,
    outcome: str | None,
    balance_over: str | None,
    running: bool,
) -> None:
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


LIST_HEADER = {
    "AccountId": "account",
    "JourneyId": "journey",
    "JourneyStep": "step",
    "Segment": "segment",
    "BalanceDue": "balance",
    "Outcome": "outcome",
    "status": "status",
}


def _row(row: dict[str, Any]) -> str:
    cell = {k: "-" if row.get(k) in (None, "") else str(row[k]) for k in LIST_HEADER}
    if isinstance(row.get("BalanceDue"), float):
        cell["BalanceDue"] = f"{row['BalanceDue']:.2f}"
    return (
        f"{cell['AccountId']:<12} {cell['JourneyId']:<14} {cell['JourneyStep']:<14} "
        f"{cell['Segment']:<18} {cell['BalanceDue']:>10} {cell['Outcome']:<14} "
        f"{cell['status']}"
    )


@main.command()
@click.argument("account_id")
@click.argument("amount")
@click.option(
    "--payment-id",
    default=None,
    help="The payment's id at billing (a repeat changes nothing); default: a new one.",
)
@click.option(
    "--currency", default=None, help="ISO 4217 code; default: the currency of the journey."
)
def pay(account_id: str, amount: str, payment_id: str | None, currency: str | None) -> None:
    """Report a payment of AMOUNT (a decimal such as 45.00) on ACCOUNT_ID: into the payments
    ledger, then to the running journey. With no journey running it stays in the ledger
    (journey payments --unapplied)."""
    try:
        value = parse_amount(amount)
    except ValueError as problem:
        fail([str(problem)])
    if currency is not None and not (len(currency) == 3 and currency.isalpha()):
        fail([f"--currency {currency!r} is not an ISO 4217 code such as USD"])

    async def action(journeys: Journeys) -> str:
        payment = await journeys.pay(
            account_id, value, payment_id, currency.upper() if currency else None, source="cli"
        )
        what = f"payment {payment.payment_id} of {payment.amount} {payment.currency}"
        if payment.applied:
            return f"{what} taken by the journey of {account_id}"
        return (
            f"{what} is in the ledger; no running journey of {account_id} took it "
            "(journey payments --unapplied)"
        )

    operate(action)


@main.command()
@click.argument("account_id")
@click.argument("fields", nargs=-1)
@click.option(
    "--file",
    "file",
    type=click.Path(path_type=Path),
    default=None,
    help="A YAML or JSON file with the changed fields.",
)
def update(account_id: str, fields: tuple[str, ...], file: Path | None) -> None:
    """Tell a running journey what changed: key=value (balance=120.00,
    customer.email=dana@example.com, consent.sms=false, days_past_due=40) or --file."""
    try:
        changes = parse_update(fields)
    except ValueError as problem:
        fail([str(problem)])
    if file is not None:
        document = checked(lambda: load_yaml(file))
        if not isinstance(document.data, dict):
            fail([f"{file}:1: (document): an update is a mapping of fields"])
        changes = {**document.data, **changes}
    if not changes:
        fail(["name what changed: key=value ... or --file FILE"])

    async def action(journeys: Journeys) -> str:
        await journeys.update(account_id, changes)
        return f"account_updated sent to {account_id}: {', '.join(sorted(changes))}"

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
    record_signal(account_id, event, values)  # an opt-out or cease outlives this journey

    async def action(journeys: Journeys) -> str:
        if event == ACCEPT_PLAN_UPDATE:
            plan = await journeys.accept_plan(account_id, installments, values.get("every"))
            said = f"plan accepted: {plan.installments} {plan.every} payments of {plan.amount}"
            if plan.schedule:
                said += "; due " + ", ".join(str(due.due) for due in plan.schedule)
            return said
        await journeys.signal(account_id, event, values)
        return f"{event} sent to {account_id}"

    operate(action)


STATES = {"waiting_for_store": "waiting for the store"}


def describe_status(found: JourneyStatus) -> str:
    lines = [
        f"account {found.account_id}: journey {found.journey_id} v{found.journey_version}, "
        f"segment {found.segment}",
        f"state {STATES.get(found.state, found.state)}, step {found.step}, "
        f"outcome {found.outcome or '-'}",
        f"balance {found.balance}, next action {found.next_action_at or '-'}",
        f"messages sent {len(found.messages)}, skipped {len(found.skipped)}, "
        f"suppressed {', '.join(found.suppressed_channels) or 'none'}",
    ]
    if found.zones:  # since the rule packs decide at send time
        lines.append(
            f"rule packs {', '.join(found.rule_packs) or 'none'}; time zones "
            f"{', '.join(found.zones)} (contact only when the window is open in each)"
        )
    lines += [
        f"  sent    {m.at:%Y-%m-%d %H:%M} UTC  {m.channel:<6} {m.step} ({m.template})"
        for m in found.messages
    ]
    lines += [
        f"  skipped {s.at:%Y-%m-%d %H:%M} UTC  {s.channel or '-':<6} {s.step}: {s.reason}"
        + (f" [{s.pack} {s.rule}]" if s.pack else "")
        for s in found.skipped
    ]
    lines += [
        f"  held    {d.at:%Y-%m-%d %H:%M} UTC  {d.channel:<6} {d.step} until "
        f"{d.until:%Y-%m-%d %H:%M} UTC [{d.pack} {d.rule}{' in ' + d.zone if d.zone else ''}]"
        + (f" {d.detail}" if d.detail else "")
        for d in found.deferred
    ]
    lines += [
        f"  paid    {p.at:%Y-%m-%d %H:%M} UTC  {p.amount} ({p.payment_id}), balance "
        f"{p.balance_after}{'' if p.counted else ' (after paid: left to billing)'}"
        for p in found.payments
    ]
    lines += [
        f"  reversed {r.at:%Y-%m-%d %H:%M} UTC  {r.amount} of {r.payment_id} ({r.reason}), "
        f"balance {r.balance_after}"
        for r in found.reversals
    ]
    lines += [
        f"  duplicate payment {payment_id}: ignored" for payment_id in found.duplicate_payments
    ]
    lines += [f"  refused {r.at:%Y-%m-%d %H:%M} UTC  {r.event}: {r.error}" for r in found.refused]
    lines += [
        f"  moved   {m.at:%Y-%m-%d %H:%M} UTC  v{m.from_version} -> v{m.to_version} at step "
        f"{m.step or '-'} ({m.from_hash} -> {m.to_hash}){f': {m.reason}' if m.reason else ''}"
        for m in found.migrations
    ]
    if found.migrating_to is not None:
        lines.append(f"  moving to v{found.migrating_to} at its next step boundary or wait")
    return "\n".join(lines)
