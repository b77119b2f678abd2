"""Three sources of the balance, chosen by settings:

- `HttpBilling`: `GET {billing_url}/accounts/{account_id}` on the billing system
  (contract in docs/channels.md), with a timeout; failures raise so the activity
  retries with backoff, and nothing is sent while the balance is unknown.
- `LocalLedger` (the default with no billing URL): payments that `journey pay`
  appended to a local file, so the embedded setup works end to end.
- `SignalledBalance`: the journey's own balance, kept by `payment_received`
  signals (used by simulations).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Protocol

import httpx

from rapport.contract.activities import PaymentCheck
from rapport.store.jsonl import JsonLines


class BalanceSource(Protocol):
    async def balance(self, check: PaymentCheck) -> Decimal: ...


class BillingUnavailable(Exception):
    """The billing system did not give a usable balance; the activity retries."""


class SignalledBalance:
    async def balance(self, check: PaymentCheck) -> Decimal:
        return check.known_balance


class LocalLedger:
    """A JSON-lines file of payments: `{"account_id", "amount", "payment_id", "at"}` a line."""

    def __init__(self, path: Path) -> None:
        self.file = JsonLines(path, key=lambda e: f"{e.get('account_id')}/{e.get('payment_id')}")

    def record(self, account_id: str, amount: Decimal, payment_id: str) -> bool:
        """Append a payment; a payment id already there is not counted twice."""
        return self.file.append(
            {
                "account_id": account_id,
                "amount": str(amount),
                "payment_id": payment_id,
                "at": datetime.now(UTC).isoformat(),
            }
        )

    def paid(self, account_id: str) -> Decimal:
        total = Decimal("0")
        for entry in self.file.read():
            try:
                if entry["account_id"] == account_id:
                    total += Decimal(entry["amount"])
            except (KeyError, InvalidOperation):
                continue
        return total

    async def balance(self, check: PaymentCheck) -> Decimal:
        """The lower of what the journey knows and what the ledger says: never remind
        someone whose payment reached either."""
        if check.opening_balance is None:
            return check.known_balance
        return min(check.known_balance, check.opening_balance - self.paid(check.account_id))


class HttpBilling:
    def __init__(self, base_url: str, token: str | None = None, timeout: float = 5.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.base_url = base_url.rstrip("/")
        self.client = httpx.AsyncClient(timeout=timeout, headers=headers)

    async def balance(self, check: PaymentCheck) -> Decimal:
        url = f"{self.base_url}/accounts/{check.account_id}"
        try:
            response = await self.client.get(url)
        except httpx.HTTPError as exc:
            raise BillingUnavailable(f"billing: {type(exc).__name__}: {exc}") from None
        if response.status_code != 200:
            raise BillingUnavailable(f"billing {response.status_code}: {response.text[:200]}")
        try:
            value = response.json()["balance"]
            if isinstance(value, float):
                raise ValueError("balance must be a decimal string, not a float")
            return Decimal(str(value))
        except (ValueError, KeyError, TypeError, InvalidOperation) as exc:
            raise BillingUnavailable(f"billing answered without a usable balance: {exc}") from None
