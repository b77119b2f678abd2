"""Creating hosted checkout sessions with Stripe's API (`POST /v1/checkout/sessions`,
form-encoded, bearer key). The dev stand-in answers the same call."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import httpx

from rapport.money import to_minor


class CheckoutUnavailable(Exception):
    """The provider did not create the session (down, refused): the customer is told to
    try again; nothing was charged."""


@dataclass(frozen=True)
class Session:
    id: str
    url: str


@dataclass(frozen=True)
class Checkout:
    api_url: str
    api_key: str
    timeout: float = 10.0

    async def session(
        self,
        mode: Literal["payment", "setup"],
        account_id: str,
        success_url: str,
        cancel_url: str,
        currency: str,
        amount: Decimal | None = None,
        locale: str = "auto",
    ) -> Session:
        """A hosted page for paying `amount` (mode payment) or for new payment details
        (mode setup); `client_reference_id` is the account, as the webhook reads it."""
        form: dict[str, str] = {
            "mode": mode,
            "client_reference_id": account_id,
            "success_url": success_url,
            "cancel_url": cancel_url,
            "locale": locale,
            "currency": currency.lower(),
        }
        if mode == "payment":
            assert amount is not None
            form.update(
                {
                    "line_items[0][quantity]": "1",
                    "line_items[0][price_data][currency]": currency.lower(),
                    "line_items[0][price_data][unit_amount]": str(to_minor(amount, currency)),
                    "line_items[0][price_data][product_data][name]": "Account balance",
                }
            )
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as http:
                answer = await http.post(
                    f"{self.api_url.rstrip('/')}/v1/checkout/sessions",
                    data=form,
                    auth=httpx.BasicAuth(self.api_key, ""),
                )
        except httpx.HTTPError as exc:
            raise CheckoutUnavailable(type(exc).__name__) from None
        if answer.status_code != 200:
            raise CheckoutUnavailable(f"provider answered {answer.status_code}")
        body = answer.json()
        return Session(id=str(body["id"]), url=str(body["url"]))
