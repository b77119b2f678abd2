"""`journey payments ACCOUNT_ID [--json]` and `journey payments --unapplied [--json]`,
as a billing clerk reads them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from rapport.cli import main
from rapport.store.database import Store
from rapport.store.payments import MoneyEvent, PaymentLedger

T0 = datetime(2028, 3, 1, 12, tzinfo=UTC)


@pytest.fixture
def cli(tmp_path: Path) -> CliRunner:
    url = f"sqlite:///{tmp_path / 'rapport.db'}"
    store = Store(url)
    store.upgrade()
    ledger = PaymentLedger(store)
    events = [
        MoneyEvent("pi_1", "A-1", Decimal("20.00"), "USD", "provider", T0, paid=True),
        MoneyEvent("B-2", "A-1", Decimal("5.00"), "USD", "billing", T0 + timedelta(hours=1)),
        MoneyEvent("pi_3", "A-2", Decimal("1000"), "JPY", "provider", T0, paid=True),
    ]
    for event in events:
        ledger.take(event)
    ledger.told("pi_1", "portal/run-1", received=True)
    ledger.take(
        MoneyEvent("pi_1", "A-1", Decimal("20.00"), "USD", "provider", T0, refunded=Decimal("5.00"))
    )
    ledger.told("pi_1", "portal/run-1", reversed_total=Decimal("5.00"), reversal_taken=False)
    ledger.told("pi_3", None, received=False)
    store.dispose()
    return CliRunner(env={"RAPPORT_DATABASE_URL": url})


def test_an_accounts_payments_as_json(cli: CliRunner) -> None:
    shown = cli.invoke(main, ["payments", "A-1", "--json"])
    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.output)
    assert document["account_id"] == "A-1"
    assert [
        {
            k: p[k]
            for k in ("payment_id", "amount", "currency", "status", "source", "journey", "applied")
        }
        for p in document["payments"]
    ] == [
        {
            "payment_id": "pi_1",
            "amount": "20.00",
            "currency": "USD",
            "status": "partially_refunded",
            "source": "provider",
            "journey": "portal/run-1",
            "applied": True,
        },
        {
            "payment_id": "B-2",
            "amount": "5.00",
            "currency": "USD",
            "status": "pending",
            "source": "billing",
            "journey": None,
            "applied": False,
        },
    ]
    assert document["payments"][0]["received_at"] == T0.isoformat()


def test_an_accounts_payments_as_lines(cli: CliRunner) -> None:
    shown = cli.invoke(main, ["payments", "A-1"])
    assert shown.exit_code == 0
    lines = shown.output.splitlines()
    assert len(lines) == 2
    assert "pi_1" in lines[0]
    assert "20.00 USD" in lines[0]
    assert "partially_refunded" in lines[0]
    assert "taken by portal/run-1" in lines[0]
    assert "no journey took it" in lines[1]
    nothing = cli.invoke(main, ["payments", "A-9"])
    assert nothing.output == "no payments for A-9\n"


def test_what_no_journey_took_for_the_billing_team(cli: CliRunner) -> None:
    shown = cli.invoke(main, ["payments", "--unapplied", "--json"])
    assert shown.exit_code == 0, shown.output
    document = json.loads(shown.output)
    assert [(p["account_id"], p["payment_id"], p["unapplied"]) for p in document["payments"]] == [
        ("A-1", "pi_1", "-5.00"),  # refunded after its journey took it: back on the books
        ("A-2", "pi_3", "1000"),  # no journey took it
    ]
    assert document["totals"] == {"USD": "-5.00", "JPY": "1000"}
    lines = cli.invoke(main, ["payments", "--unapplied"]).output.splitlines()
    assert lines[-2:] == ["total unapplied: -5.00 USD", "total unapplied: 1000 JPY"]


def test_an_account_or_unapplied_not_both_nor_neither(cli: CliRunner) -> None:
    for args in (["payments"], ["payments", "A-1", "--unapplied"]):
        refused = cli.invoke(main, args)
        assert refused.exit_code == 1
        assert "name an account" in refused.output
