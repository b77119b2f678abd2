"""Events shaped as Stripe sends them (checkout sessions, charges, disputes), signed with
Stripe's own library: the tests' provider never uses our signing code."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import httpx
import stripe

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
