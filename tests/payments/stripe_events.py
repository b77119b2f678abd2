"""Events shaped as Stripe sends them (checkout sessions, charges, disputes), signed with
Stripe's own library: the tests' provider never uses our signing code."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import stripe

from rapport.store.checkouts import Checkout, CheckoutBook
from rapport.store.database import Store
from rapport.web.payments import DevProvider

SECRET = "whsec_dev_only_not_secret"  # the web app's development default


def event_id() -> str:
    return f"evt_{secrets.token_hex(8)}"


def session_event(
    kind: str,
    account_id: str,
    payment_intent: str,
    cents: int,
    payment_status: str = "paid",
    currency: str = "usd",
    session: str | None = None,
    event: str | None = None,
) -> dict[str, Any]:
    """`checkout.session.completed` (or `.async_payment_succeeded` / `_failed`)."""
    return {
        "id": event or event_id(),
        "object": "event",
        "type": f"checkout.session.{kind}",
        "created": int(time.time()),
        "data": {
            "object": {
                "id": session or f"cs_{payment_intent}",
                "object": "checkout.session",
                "mode": "payment",
                "client_reference_id": account_id,
                "amount_total": cents,
                "currency": currency,
                "payment_intent": payment_intent,
                "payment_status": payment_status,
                "metadata": {"account_id": account_id},
            }
        },
    }


def refund_event(
    account_id: str, payment_intent: str, cents: int, refunded: int, currency: str = "usd"
) -> dict[str, Any]:
    return {
        "id": event_id(),
        "object": "event",
        "type": "charge.refunded",
        "created": int(time.time()),
        "data": {
            "object": {
                "id": f"ch_{payment_intent}",
                "object": "charge",
                "amount": cents,
                "amount_refunded": refunded,
                "currency": currency,
                "payment_intent": payment_intent,
                "refunded": refunded >= cents,
                "metadata": {"account_id": account_id},
            }
        },
    }


def dispute_event(payment_intent: str, cents: int, currency: str = "usd") -> dict[str, Any]:
    return {
        "id": event_id(),
        "object": "event",
        "type": "charge.dispute.created",
        "created": int(time.time()),
        "data": {
            "object": {
                "id": f"dp_{payment_intent}",
                "object": "dispute",
                "amount": cents,
                "currency": currency,
                "charge": f"ch_{payment_intent}",
                "payment_intent": payment_intent,
                "reason": "fraudulent",
                "status": "needs_response",
                "metadata": {},
            }
        },
    }


def dispute_closed_event(
    payment_intent: str, cents: int, status: str = "won", currency: str = "usd"
) -> dict[str, Any]:
    """`charge.dispute.closed`: `won` (the money is the merchant's again), `lost`, or
    `warning_closed` (an inquiry that never became a chargeback)."""
    event = dispute_event(payment_intent, cents, currency)
    event["type"] = "charge.dispute.closed"
    event["data"]["object"]["status"] = status
    return event


def signed(event: dict[str, Any], secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    """The body and headers, signed by Stripe's library; checked by it too."""
    body = json.dumps(event)
    header = stripe.WebhookSignature.generate_signature_header(body, secret)
    stripe.Webhook.construct_event(body, header, secret)  # Stripe accepts its own
    return body.encode(), {"Stripe-Signature": header, "Content-Type": "application/json"}


async def deliver(
    http: httpx.AsyncClient, web: str, event: dict[str, Any], secret: str = SECRET
) -> httpx.Response:
    body, headers = signed(event, secret)
    return await http.post(f"{web}/webhooks/payments", content=body, headers=headers)


def reference_of(session: str) -> str:
    """The server-side reference the portal gave the checkout of `session` (in tests)."""
    return "t" + hashlib.sha256(session.encode()).hexdigest()[:21]


def opened(
    store: Store,
    account_id: str,
    payment_intent: str,
    cents: int,
    currency: str = "usd",
    session: str | None = None,
    provider: DevProvider | None = None,
) -> str:
    """Make a made-up payment Rapport's own, as if the portal had sent the customer to
    the provider: its checkout (session `cs_{payment_intent}` unless named) in the store
    and, when `provider` is given, its PaymentIntent there, naming the checkout. Returns
    the session id. Events of checkouts Rapport never opened are another product's."""
    session = session or f"cs_{payment_intent}"
    reference, now = reference_of(session), datetime.now(UTC)
    book = CheckoutBook(store)
    if book.by_session(session) is None:
        book.open(
            Checkout(
                reference=reference,
                account_id=account_id,
                link_hash="test",
                mode="payment",
                currency=currency.upper(),
                amount_minor=cents,
                locale="en",
                timezone="UTC",
                created_at=now,
                expires_at=now + timedelta(minutes=30),
            )
        )
        book.started(reference, session, f"https://checkout.example/{session}")
    if provider is not None:
        provider.payment_intents[payment_intent] = {
            "id": payment_intent,
            "object": "payment_intent",
            "amount": cents,
            "currency": currency,
            "metadata": {"account_id": account_id, "reference": reference},
        }
    return session


async def deliver_ours(
    http: httpx.AsyncClient, web: str, store: Store, event: dict[str, Any], secret: str = SECRET
) -> httpx.Response:
    """Deliver `event`, its checkout first made Rapport's own (a checkout session's)."""
    thing = event.get("data", {}).get("object", {})
    if (
        str(event.get("type", "")).startswith("checkout.session.")
        and thing.get("mode") == "payment"
    ):
        opened(
            store,
            thing["client_reference_id"],
            thing["payment_intent"],
            thing.get("amount_total") or 0,
            thing["currency"],
            thing["id"],
        )
    return await deliver(http, web, event, secret)
