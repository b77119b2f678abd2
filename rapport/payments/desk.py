"""Where every money event is taken, from any path (the provider's webhook, billing, the
CLI, the API): the ledger first, committed; then the account's running journey is told
what counts (`payment_received` when money arrives, `payment_reversed` when it goes
back) and what it took is written back to the ledger.

A crash, or Temporal not answering, between the two leaves the ledger saying the
journey was not told yet: the next delivery of the event (the provider's retry, the
billing system's) tells it. The journey recognises a payment id it has seen, so telling
twice counts once. Money no running journey takes stays in the ledger, and the log
says where to look (`journey payments --unapplied`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from rapport.store.payments import MoneyEvent, Payment, PaymentLedger

log = logging.getLogger("rapport.payments")


@dataclass(frozen=True)
class Told:
    """What the account's journey did with what it was told: `journey` is the run told
    (None: no journey was running), `taken` whether it counted it."""

    journey: str | None
    taken: bool


class JourneyTeller(Protocol):
    async def tell_payment(
        self, account_id: str, signal: str, payload: dict[str, Any], payment_id: str
    ) -> Told:
        """Signal the account's running journey and say whether it took `payment_id`.
        Raises when Temporal does not answer (the caller retries later)."""
        ...


class MoneyDesk:
    def __init__(self, ledger: PaymentLedger, journeys: JourneyTeller) -> None:
        self.ledger, self.journeys = ledger, journeys

    async def take(self, event: MoneyEvent, paid_at: datetime | None = None) -> Payment:
        """Record `event` in the ledger, then tell the journey what it changes (`paid_at`:
        when the payer paid, as the sender says, for the journey's `payment_received`)."""
        payment = await asyncio.to_thread(self.ledger.take, event)
        return await self.tell(payment, paid_at)

    async def tell(self, payment: Payment, paid_at: datetime | None = None) -> Payment:
        """Tell the account's journey what it has not been told of `payment` yet."""
        if payment.receipt_due:
            received: dict[str, Any] = {
                "amount": str(payment.amount),
                "payment_id": payment.payment_id,
                "currency": payment.currency,
            }
            if paid_at is not None:
                received["paid_at"] = paid_at.isoformat()
            told = await self.journeys.tell_payment(
                payment.account_id, "payment_received", received, payment.payment_id
            )
            payment = await asyncio.to_thread(
                self.ledger.told, payment.payment_id, told.journey, received=told.taken
            )
        if payment.reversal_due:
            told = await self.journeys.tell_payment(
                payment.account_id,
                "payment_reversed",
                {
                    "payment_id": payment.payment_id,
                    "amount": str(payment.reversed),
                    "currency": payment.currency,
                    "reason": reason(payment),
                },
                payment.payment_id,
            )
            payment = await asyncio.to_thread(
                self.ledger.told,
                payment.payment_id,
                told.journey,
                reversed_total=payment.reversed,
                reversal_taken=told.taken,
            )
        fields = {"account_id": payment.account_id, "payment": payment.payment_id}
        if payment.unapplied != 0:
            log.warning(
                "money no running journey took (%s %s, %s): journey payments --unapplied",
                payment.unapplied,
                payment.currency,
                payment.status,
                extra=fields,
            )
        else:
            log.info("payment %s", payment.status, extra=fields)
        return payment


def reason(payment: Payment) -> str:
    """Why money of `payment` went back, as `payment_reversed` says it."""
    return {"disputed": "dispute", "failed": "failed"}.get(payment.status, "refund")
