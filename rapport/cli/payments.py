"""`journey payments`: the payments ledger, for an account or for the billing team."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import click

from rapport.cli.app import fail, main
from rapport.runtime.settings import load_settings
from rapport.store.database import Store, StoreUnavailable
from rapport.store.payments import Payment, PaymentLedger


def open_ledger() -> PaymentLedger:
    store = Store(load_settings().store_url())
    try:
        store.ready()
    except StoreUnavailable as exc:
        fail([f"the store: {exc}"])
    return PaymentLedger(store)


@main.command()
@click.argument("account_id", required=False)
@click.option(
    "--unapplied",
    is_flag=True,
    help="Money that reached no running journey (every account): for the billing team.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def payments(account_id: str | None, unapplied: bool, as_json: bool) -> None:
    """The payments ledger: every money event of ACCOUNT_ID (amount, status, source, when,
    the journey that took it), or with --unapplied the money no running journey took
    (an ended journey's payment, a second payment after paid, a refund after the end)."""
    if unapplied == (account_id is not None):
        fail(["name an account (journey payments ACCOUNT_ID) or ask for --unapplied"])
    ledger = open_ledger()
    try:
        found = ledger.unapplied() if unapplied else ledger.for_account(str(account_id))
    except StoreUnavailable as exc:
        fail([f"the store: {exc}"])
    if as_json:
        rows = [row(p, with_account=unapplied) for p in found]
        document: dict[str, Any] = {"payments": rows}
        if not unapplied:
            document = {"account_id": account_id, **document}
        else:
            document["totals"] = {c: str(t) for c, t in totals(found).items()}
        click.echo(json.dumps(document, indent=2))
        return
    if not found:
        click.echo("nothing unapplied" if unapplied else f"no payments for {account_id}")
        return
    for payment in found:
        click.echo(line(payment, unapplied))
    if unapplied:
        for currency, total in totals(found).items():
            click.echo(f"total unapplied: {total} {currency}")


def row(payment: Payment, with_account: bool = False) -> dict[str, Any]:
    """One payment as `--json` prints it (the contract's fields, then a few more)."""
    shown: dict[str, Any] = {"account_id": payment.account_id} if with_account else {}
    shown |= {
        "payment_id": payment.payment_id,
        "amount": str(payment.amount),
        "currency": payment.currency,
        "status": payment.status,
        "source": payment.source,
        "received_at": payment.received_at.isoformat(),
        "journey": payment.journey,
        "applied": payment.applied,
        "reversed": str(payment.reversed),
        "changed_at": payment.changed_at.isoformat(),
        "reference": payment.reference,
    }
    if with_account:
        shown["unapplied"] = str(payment.unapplied)
    return shown


def line(payment: Payment, unapplied: bool) -> str:
    taken = f"taken by {payment.journey}" if payment.applied else "no journey took it"
    head = f"{payment.account_id:<12} " if unapplied else ""
    extra = f"  unapplied {payment.unapplied}" if unapplied else ""
    return (
        f"{head}{payment.received_at:%Y-%m-%d %H:%M} UTC  {payment.payment_id:<28} "
        f"{payment.amount:>12} {payment.currency}  {payment.status:<18} {payment.source:<8} "
        f"{taken}{extra}"
    )


def totals(found: list[Payment]) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = {}
    for payment in found:
        sums[payment.currency] = sums.get(payment.currency, Decimal(0)) + payment.unapplied
    return sums
