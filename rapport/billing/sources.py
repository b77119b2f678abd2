"""Where the balance comes from, and where new payment details go, chosen by settings:

- `HttpBilling`: `GET {billing_url}/accounts/{account_id}` on the billing system for the
  balance, `POST {billing_url}/accounts/{account_id}/payment-method` for new payment
  details (contract in docs/billing-integration.md), with a timeout; failures raise so
  the caller retries with backoff, and nothing is sent while the balance is unknown.
- `LocalLedger` (the default with no billing URL): the account as its journey began
  (or as `account_updated` last set it) less what the store's payments ledger received
  for it since, so the embedded setup works end to end; new payment details are kept
  in the store.
- `SignalledBalance`: the journey's own balance, kept by `payment_received` signals
  (used by simulations).

A balance is read in the account's currency: `0.00000000` is zero, `12.5000` is 12.50,
and a figure finer than the currency's minor unit is refused (not guessed).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Protocol

import httpx

from rapport.contract.activities import PaymentCheck
from rapport.money import NotInUnits, in_units
from rapport.store.checkouts import CheckoutBook
from rapport.store.payments import PaymentLedger


class BalanceSource(Protocol):
    async def balance(self, check: PaymentCheck) -> Decimal: ...

    async def payment_details_updated(
        self, account_id: str, reference: str, customer: str | None
    ) -> None:
        """Billing learns of the customer's new payment method (the provider's ids)."""
        ...


class BillingUnavailable(Exception):
    """The billing system did not give a usable answer; the caller retries."""


class SignalledBalance:
    async def balance(self, check: PaymentCheck) -> Decimal:
        return check.known_balance

    async def payment_details_updated(
        self, account_id: str, reference: str, customer: str | None
    ) -> None:
        return None


class LocalLedger:
    """The store's payments ledger standing in for a billing system."""

    def __init__(self, ledger: PaymentLedger, methods: CheckoutBook) -> None:
        self.ledger, self.methods = ledger, methods

    async def balance(self, check: PaymentCheck) -> Decimal:
        """The lower of what the journey knows and the account less the money the ledger
        received since its balance was set: never remind someone whose payment reached
        either, and never count last year's payment against this year's debt."""
        if check.base_balance is None or check.balance_since is None or not check.currency:
            return check.known_balance
        paid = await asyncio.to_thread(
            self.ledger.net_since,
            check.account_id,
            check.currency,
            check.balance_since,
            check.at,
        )
        return min(check.known_balance, check.base_balance - paid)

    async def payment_details_updated(
        self, account_id: str, reference: str, customer: str | None
    ) -> None:
        await asyncio.to_thread(
            self.methods.record_method, reference, account_id, customer, datetime.now(UTC)
        )


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
            balance = Decimal(str(value))
            return in_units(balance, check.currency) if check.currency else balance
        except NotInUnits as exc:
            raise BillingUnavailable(f"billing answered a balance of {exc}") from None
        except (ValueError, KeyError, TypeError, InvalidOperation) as exc:
            raise BillingUnavailable(f"billing answered without a usable balance: {exc}") from None

    async def payment_details_updated(
        self, account_id: str, reference: str, customer: str | None
    ) -> None:
        url = f"{self.base_url}/accounts/{account_id}/payment-method"
        try:
            response = await self.client.post(
                url, json={"reference": reference, "customer": customer}
            )
        except httpx.HTTPError as exc:
            raise BillingUnavailable(f"billing: {type(exc).__name__}: {exc}") from None
        if not 200 <= response.status_code < 300:
            raise BillingUnavailable(f"billing {response.status_code}: {response.text[:200]}")
