"""Where the balance comes from. The local stand-in for billing follows the account: the
balance its journey began with (or account_updated last set), less what the payments
ledger received since; a billing system's zero with eight places is zero."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from rapport.billing.sources import BillingUnavailable, HttpBilling, LocalLedger
from rapport.contract.activities import PaymentCheck
from rapport.store.checkouts import CheckoutBook
from rapport.store.database import Store
from rapport.store.payments import MoneyEvent, PaymentLedger
from tests.fakes import FakeBilling, serving
from tests.scenarios import sent, simulate_journey

STARTED = datetime(2028, 3, 1, 14, tzinfo=UTC)
JOURNEY = """\
id: local
version: 1
name: Two reminders
on_paid:
  send: {channel: email, template: thanks}
steps:
  - {id: first, send: {channel: email, template: reminder}}
  - {id: pause, wait: 1d}
  - {id: second, send: {channel: email, template: reminder}}
"""


def local(store: Store) -> tuple[LocalLedger, PaymentLedger]:
    ledger = PaymentLedger(store)
    return LocalLedger(ledger, CheckoutBook(store)), ledger


def payment(payment_id: str, amount: str, at: datetime) -> MoneyEvent:
    return MoneyEvent(payment_id, "T-1", Decimal(amount), "USD", "cli", at, paid=True)


def check(known: str, base: str, since: datetime) -> PaymentCheck:
    return PaymentCheck(
        account_id="T-1",
        known_balance=Decimal(known),
        currency="USD",
        base_balance=Decimal(base),
        balance_since=since,
    )


async def test_a_raised_balance_paid_in_part_is_not_paid(store: Store) -> None:
    """300 raised to 500 by billing, then 300 paid: 200 is owed (it used to say paid)."""
    billing, ledger = local(store)
    raised_at = STARTED + timedelta(days=1)
    ledger.take(payment("P-1", "300.00", raised_at + timedelta(hours=1)))
    assert await billing.balance(check("500.00", "500.00", raised_at)) == Decimal("200.00")


async def test_last_years_payment_does_not_pay_this_years_debt(store: Store) -> None:
    billing, ledger = local(store)
    ledger.take(payment("P-old", "300.00", STARTED - timedelta(days=365)))
    assert await billing.balance(check("300.00", "300.00", STARTED)) == Decimal("300.00")


async def test_a_payment_in_the_ledger_counts_before_the_journey_hears_of_it(
    store: Store,
) -> None:
    billing, ledger = local(store)
    ledger.take(payment("P-1", "300.00", STARTED + timedelta(minutes=5)))
    ledger.take(payment("P-refunded", "50.00", STARTED + timedelta(minutes=6)))
    ledger.take(
        MoneyEvent(
            "P-refunded",
            "T-1",
            Decimal("50.00"),
            "USD",
            "provider",
            STARTED,
            paid=True,
            refunded=Decimal("50.00"),
        )
    )
    assert await billing.balance(check("300.00", "300.00", STARTED)) == Decimal("0.00")


async def test_new_payment_details_are_kept_by_the_local_stand_in(store: Store) -> None:
    billing, _ = local(store)
    await billing.payment_details_updated("T-1", "pm_1", "cus_1")
    await billing.payment_details_updated("T-1", "pm_1", "cus_1")
    assert [m[:2] for m in CheckoutBook(store).methods("T-1")] == [("pm_1", "cus_1")]


@pytest.mark.parametrize(
    ("answer", "balance"),
    [("0.00000000", "0.00"), ("12.5000", "12.50"), ("0", "0.00"), ("-3.00", "-3.00")],
)
async def test_billing_answers_are_read_in_the_currency(answer: str, balance: str) -> None:
    billing = FakeBilling(balances={"T-1": Decimal(answer)})
    async with serving(billing.app()) as base:
        read = await HttpBilling(base).balance(check("300.00", "300.00", STARTED))
    assert str(read) == balance


async def test_a_billing_answer_finer_than_the_currency_is_refused() -> None:
    billing = FakeBilling(balances={"T-1": Decimal("12.505")})
    async with serving(billing.app()) as base:
        with pytest.raises(BillingUnavailable, match=r"12\.505"):
            await HttpBilling(base).balance(check("300.00", "300.00", STARTED))


@pytest.mark.slow
async def test_billings_zero_with_eight_places_ends_the_journey_paid(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    billing = FakeBilling(balances={"T-1": Decimal("0.00000000")})
    async with serving(billing.app()) as base:
        timeline = await simulate_journey(env, tmp_path, JOURNEY, days=2, billing=HttpBilling(base))
    assert timeline["outcome"] == "paid"
    assert [s for s, _, _ in sent(timeline)] == ["on_paid"]
    assert timeline["balance"] == "0.00"


async def test_the_local_stand_in_follows_the_journey_through_account_updated(
    env: WorkflowEnvironment, tmp_path: Path, sqlite_store: Store
) -> None:
    """The journey starts at 300 (2028-03-01 09:00 New York); billing raises it to 500 an
    hour later; 300 reaches the ledger after that (never the journey): the second
    reminder still goes, for the 200 owed."""
    billing, ledger = local(sqlite_store)
    ledger.take(payment("P-1", "300.00", STARTED + timedelta(hours=2)))
    timeline = await simulate_journey(
        env,
        tmp_path,
        JOURNEY,
        days=2,
        billing=billing,
        events=[{"at": "+1h", "type": "account_updated", "balance": "500.00"}],
    )
    assert [s for s, _, _ in sent(timeline)] == ["first", "second"]
    assert timeline["outcome"] != "paid"
