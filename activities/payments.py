"""`check_payment_status`: the balance, asked right before every delivery."""

from __future__ import annotations

from decimal import Decimal
from typing import Protocol

from temporalio import activity

from rapport.contracts import PaymentCheck, PaymentStatus


class BalanceSource(Protocol):
    async def balance(self, account_id: str, known_balance: Decimal) -> Decimal: ...


class SignalledBalance:
    """The billing system reports payments by signal; the journey's own balance is current."""

    async def balance(self, account_id: str, known_balance: Decimal) -> Decimal:
        return known_balance


class PaymentActivities:
    def __init__(self, source: BalanceSource | None = None) -> None:
        self.source = source or SignalledBalance()

    @activity.defn(name="check_payment_status")
    async def check_payment_status(self, request: PaymentCheck) -> PaymentStatus:
        balance = await self.source.balance(request.account_id, request.known_balance)
        return PaymentStatus(balance=balance)
