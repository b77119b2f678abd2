"""`check_payment_status`: the balance, asked right before every delivery, from the
source settings choose (`rapport.billing`)."""

from __future__ import annotations

from temporalio import activity

from rapport.billing.sources import BalanceSource, SignalledBalance
from rapport.contract.activities import PaymentCheck, PaymentStatus


class PaymentActivities:
    def __init__(self, source: BalanceSource | None = None) -> None:
        self.source = source or SignalledBalance()

    @activity.defn(name="check_payment_status")
    async def check_payment_status(self, request: PaymentCheck) -> PaymentStatus:
        return PaymentStatus(balance=await self.source.balance(request))
