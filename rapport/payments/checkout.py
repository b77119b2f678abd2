"""Creating hosted checkout sessions with Stripe's API (`POST /v1/checkout/sessions`,
form-encoded, the secret key as the user of HTTP basic auth), reading a completed
setup's payment method (`GET /v1/setup_intents/{id}`) and a payment's metadata
(`GET /v1/payment_intents/{id}`: is a refund or dispute of a payment Rapport has not
seen complete one of its own?). The dev stand-in answers all three.

Every session expires after 30 minutes, is created with an `Idempotency-Key` (the
checkout's own reference: a retried request never makes a second session), and carries
the account in its metadata, so refunds and disputes of its payment name the account.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal
from urllib.parse import quote

import httpx

from rapport.payments.limits import provider_amount

SESSION_LIFETIME = 30 * 60  # seconds: Stripe's shortest; a page left open does not pay later


class CheckoutUnavailable(Exception):
    """The provider did not create the session (down, refused): the customer is told to
    try again; nothing was charged."""


@dataclass(frozen=True)
class Session:
    id: str
    url: str
    expires_at: int


@dataclass(frozen=True)
class SavedMethod:
    """What a completed setup saved: the provider's ids, never card data."""

    payment_method: str
    customer: str | None


@dataclass(frozen=True)
class Checkout:
    api_url: str
    api_key: str
    timeout: float = 10.0

    async def session(
        self,
        mode: Literal["payment", "setup"],
        account_id: str,
        reference: str,
        success_url: str,
        cancel_url: str,
        currency: str,
        amount: Decimal | None = None,
        locale: str = "auto",
    ) -> Session:
        """A hosted page for paying `amount` (mode payment) or for new payment details
        (mode setup). `client_reference_id` is the account, as the webhook reads it;
        `reference` is the checkout's own (in the return URLs and the metadata)."""
        expires_at = int(time.time()) + SESSION_LIFETIME + 60  # Stripe wants >= 30 min
        form: dict[str, str] = {
            "mode": mode,
            "client_reference_id": account_id,
            "success_url": success_url,
            "cancel_url": cancel_url,
            "locale": locale,
            "currency": currency.lower(),
            "expires_at": str(expires_at),
            "metadata[account_id]": account_id,
            "metadata[reference]": reference,
        }
        if mode == "payment":
            assert amount is not None
            form.update(
                {
                    "line_items[0][quantity]": "1",
                    "line_items[0][price_data][currency]": currency.lower(),
                    "line_items[0][price_data][unit_amount]": str(
                        provider_amount(amount, currency)
                    ),
                    "line_items[0][price_data][product_data][name]": "Account balance",
                    "payment_intent_data[metadata][account_id]": account_id,
                    "payment_intent_data[metadata][reference]": reference,
                }
            )
        else:
            form["setup_intent_data[metadata][account_id]"] = account_id
        body = await self._call("POST", "/v1/checkout/sessions", form, reference)
        return Session(id=str(body["id"]), url=str(body["url"]), expires_at=expires_at)

    async def saved_method(self, setup_intent: str) -> SavedMethod:
        """The payment method a completed setup saved (its SetupIntent, read back)."""
        body = await self._call("GET", f"/v1/setup_intents/{quote(setup_intent, safe='')}")
        method = body.get("payment_method")
        if isinstance(method, dict):
            method = method.get("id")
        if not isinstance(method, str) or not method:
            raise CheckoutUnavailable("the setup saved no payment method")
        customer = body.get("customer")
        return SavedMethod(method, customer if isinstance(customer, str) else None)

    async def payment_intent(self, payment_id: str) -> dict[str, object] | None:
        """The provider's payment (its amount, currency and the metadata its checkout
        gave it), or None when the provider has no such payment."""
        answer = await self._send("GET", f"/v1/payment_intents/{quote(payment_id, safe='')}")
        return None if answer.status_code == 404 else _body(answer)

    async def _call(
        self, method: str, path: str, form: dict[str, str] | None = None, key: str | None = None
    ) -> dict[str, object]:
        return _body(await self._send(method, path, form, key))

    async def _send(
        self, method: str, path: str, form: dict[str, str] | None = None, key: str | None = None
    ) -> httpx.Response:
        headers = {"Idempotency-Key": f"rapport-checkout-{key}"} if key else {}
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as http:
                return await http.request(
                    method,
                    f"{self.api_url.rstrip('/')}{path}",
                    data=form,
                    headers=headers,
                    auth=httpx.BasicAuth(self.api_key, ""),
                )
        except httpx.HTTPError as exc:
            raise CheckoutUnavailable(type(exc).__name__) from None


def _body(answer: httpx.Response) -> dict[str, object]:
    if answer.status_code != 200:
        raise CheckoutUnavailable(f"provider answered {answer.status_code}")
    try:
        body = answer.json()
    except ValueError:
        raise CheckoutUnavailable("provider answered without JSON") from None
    if not isinstance(body, dict):
        raise CheckoutUnavailable("provider answered without an object")
    return body
