"""The provider's webhook, as Stripe sends it: header `Stripe-Signature: t=UNIX,v1=HEX`,
HEX = HMAC-SHA256 over `"{t}.{raw body}"` with the endpoint's secret, refused outside
a 5-minute tolerance; the body an event whose `data.object` is the checkout session."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from rapport.money import from_minor
from rapport.security.compare import same

TOLERANCE = 300  # seconds
SIGNATURE = "Stripe-Signature"


class BadEvent(ValueError):
    """Not a genuine, readable event: answered 400 naming `field`, nothing changes."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def signature_header(body: bytes, secret: str, timestamp: int) -> str:
    """What a provider sends (the dev stand-in signs with this; so do the tests)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verified(body: bytes, header: str, secret: str, now: float) -> dict[str, Any]:
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        raise BadEvent("Stripe-Signature has no timestamp", SIGNATURE) from None
    expected = signature_header(body, secret, timestamp).rsplit("v1=", 1)[1]
    if not any(same(given, expected) for given in parts.get("v1", [])):
        raise BadEvent("signature does not match", SIGNATURE)
    if abs(now - timestamp) > TOLERANCE:
        raise BadEvent("timestamp outside the 5-minute tolerance", SIGNATURE)
    try:
        event = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested past the stack
        raise BadEvent("body is not JSON", "body") from None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str):
        raise BadEvent("event has no id", "id")
    return event


@dataclass(frozen=True)
class Completed:
    """A completed checkout: a payment (`payment_id` set) or new payment details."""

    event_id: str
    account_id: str
    payment_id: str | None = None
    amount: Decimal | None = None
    currency: str | None = None


def completed_checkout(event: dict[str, Any]) -> Completed | None:
    """The checkout an event completes; None for any other event (acknowledged, ignored)."""
    if event.get("type") != "checkout.session.completed":
        return None
    session = (event.get("data") or {}).get("object") or {}
    account_id = session.get("client_reference_id")
    if not isinstance(account_id, str) or not account_id:
        raise BadEvent("the account id is missing", "data.object.client_reference_id")
    if session.get("mode") == "setup":
        return Completed(event["id"], account_id)
    currency, total, intent = (
        session.get("currency"),
        session.get("amount_total"),
        session.get("payment_intent"),
    )
    if not isinstance(currency, str) or not isinstance(total, int) or total <= 0:
        raise BadEvent(
            "amount_total (minor units) and currency are required", "data.object.amount_total"
        )
    if not isinstance(intent, str) or not intent:
        raise BadEvent("the payment id is missing", "data.object.payment_intent")
    return Completed(
        event["id"], account_id, intent, from_minor(total, currency.upper()), currency.upper()
    )
