"""The payments ledger on SQLite and PostgreSQL: one row per payment id, merged from events
in any order, statuses that only move forward, what the journey took, and what no
journey took (for the billing team), to the minor unit."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from rapport.store.database import Store
from rapport.store.payments import MoneyEvent, PaymentConflict, PaymentLedger

T0 = datetime(2028, 3, 1, 12, tzinfo=UTC)


def event(**changes: object) -> MoneyEvent:
    base = MoneyEvent(
        payment_id="pi_1",
        account_id="A-1",
        amount=Decimal("20.00"),
        currency="USD",
        source="provider",
        at=T0,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_payment_moves_from_pending_to_succeeded_to_refunded(store: Store) -> None:
    ledger = PaymentLedger(store)
    pending = ledger.take(event(reference="cs_1"))
    paid = ledger.take(event(paid=True, at=T0 + timedelta(minutes=1)))
    again = ledger.take(event(paid=True, at=T0 + timedelta(minutes=2)))
    part = ledger.take(event(refunded=Decimal("5.00"), paid=True, at=T0 + timedelta(hours=1)))
    whole = ledger.take(event(refunded=Decimal("20.00"), paid=True, at=T0 + timedelta(hours=2)))
    assert [p.status for p in (pending, paid, again, part, whole)] == [
        "pending",
        "succeeded",
        "succeeded",
        "partially_refunded",
        "refunded",
    ]
    assert again.changed_at == paid.changed_at  # a repeat changes nothing
    assert (pending.net, paid.net, part.net, whole.net) == (
        Decimal(0),
        Decimal("20.00"),
        Decimal("15.00"),
        Decimal(0),
    )
    assert whole.reference == "cs_1"
    assert whole.received_at == T0
    assert len(ledger.for_account("A-1")) == 1


def test_a_failed_bank_debit_brings_nothing(store: Store) -> None:
    ledger = PaymentLedger(store)
    ledger.take(event())
    failed = ledger.take(event(failed=True))
    assert (failed.status, failed.net) == ("failed", Decimal(0))
    assert ledger.unapplied() == []


def test_events_in_any_order_end_in_the_same_row(store: Store) -> None:
    ledger = PaymentLedger(store)
    steps = [
        event(payment_id="pi_a", disputed=Decimal("20.00"), paid=True),
        event(payment_id="pi_a"),
        event(payment_id="pi_a", paid=True),
    ]
    for step in steps:
        ledger.take(step)
    for step in reversed(steps):
        ledger.take(replace(step, payment_id="pi_b"))
    a, b = ledger.find("pi_a"), ledger.find("pi_b")
    assert a is not None
    assert b is not None
    assert (a.status, a.net) == (b.status, b.net) == ("disputed", Decimal(0))


def test_a_payment_id_of_another_account_is_refused(store: Store) -> None:
    ledger = PaymentLedger(store)
    ledger.take(event(paid=True))
    with pytest.raises(PaymentConflict):
        ledger.take(event(account_id="A-2", paid=True))
    with pytest.raises(PaymentConflict):
        ledger.take(event(amount=Decimal("21.00"), paid=True))


def test_money_no_journey_took_is_unapplied_until_one_does(store: Store) -> None:
    ledger = PaymentLedger(store)
    ledger.take(event(payment_id="pi_taken", paid=True))
    ledger.told("pi_taken", "run-1", received=True)
    ledger.take(event(payment_id="pi_ended", paid=True))
    ledger.told("pi_ended", None, received=False)
    ledger.take(event(payment_id="pi_pending"))
    assert [(p.payment_id, p.unapplied) for p in ledger.unapplied()] == [
        ("pi_ended", Decimal("20.00"))
    ]
    # a refund of the taken payment after its journey ended: the billing team's to decide
    refunded = ledger.take(event(payment_id="pi_taken", paid=True, refunded=Decimal("5.00")))
    assert refunded.reversal_due
    ledger.told("pi_taken", "run-1", reversed_total=Decimal("5.00"), reversal_taken=False)
    assert {p.payment_id: p.unapplied for p in ledger.unapplied()} == {
        "pi_taken": Decimal("-5.00"),
        "pi_ended": Decimal("20.00"),
    }
    taken = ledger.told("pi_taken", "run-1", reversed_total=Decimal("5.00"), reversal_taken=True)
    assert (taken.accounted, taken.unapplied, taken.reversal_due) == (
        Decimal("15.00"),
        Decimal(0),
        False,
    )


@pytest.mark.parametrize(
    ("amount", "currency"), [("1000", "JPY"), ("1.234", "KWD"), ("999999999999.99", "USD")]
)
def test_amounts_are_kept_to_the_minor_unit(store: Store, amount: str, currency: str) -> None:
    kept = PaymentLedger(store).take(event(amount=Decimal(amount), currency=currency, paid=True))
    assert str(kept.amount) == amount
    assert kept.net == Decimal(amount)


def test_the_local_billing_view_counts_payments_since_a_moment(store: Store) -> None:
    ledger = PaymentLedger(store)
    ledger.take(event(payment_id="old", paid=True, at=T0 - timedelta(days=300)))
    ledger.take(event(payment_id="new", paid=True, at=T0 + timedelta(days=1)))
    ledger.take(
        event(payment_id="back", paid=True, refunded=Decimal("20.00"), at=T0 + timedelta(days=2))
    )
    ledger.take(event(payment_id="eur", paid=True, currency="EUR", at=T0 + timedelta(days=2)))
    assert ledger.net_since("A-1", "USD", T0) == Decimal("20.00")


def test_many_writers_of_one_payment_make_one_row(store: Store) -> None:
    ledger = PaymentLedger(store)
    steps = [event(paid=i % 2 == 0, refunded=Decimal(i % 3)) for i in range(24)]
    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(ledger.take, steps))
    row = ledger.find("pi_1")
    assert row is not None
    assert (row.status, row.reversed) == ("partially_refunded", Decimal("2.00"))
    assert len(ledger.for_account("A-1")) == 1


def test_a_provider_event_is_taken_once(store: Store) -> None:
    ledger = PaymentLedger(store)
    assert not ledger.event_taken("evt_1")
    assert ledger.take_event("evt_1", "A-1", T0)
    assert not ledger.take_event("evt_1", "A-1", T0)
    assert ledger.event_taken("evt_1")
