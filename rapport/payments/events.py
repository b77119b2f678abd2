"""The provider's webhook, as Stripe sends it: header `Stripe-Signature: t=UNIX,v1=HEX`,
HEX = HMAC-SHA256 over `"{t}.{raw body}"` with the endpoint's secret, refused outside
a 5-minute tolerance; the body an event (`id`, `type`, `data.object`).

`read_event` turns the events Rapport acts on into what they mean for the ledger:

- `checkout.session.completed`, mode payment: the payment, `pending` unless its
  `payment_status` is `paid` (bank debits complete unpaid and settle later);
- `checkout.session.async_payment_succeeded`: the bank debit arrived;
- `checkout.session.async_payment_failed`: it failed;
- `charge.refunded`: `amount_refunded` of the payment went back;
- `charge.dispute.created`: the disputed amount went back;
- `charge.dispute.closed`, `won` (or an inquiry's `warning_closed`): it came back, as a
  payment of its own (the dispute's id), made only once the dispute is in the ledger;
- `checkout.session.completed`, mode setup: new payment details (its SetupIntent's).

Anything else is acknowledged and ignored. Amounts arrive in the provider's minor units.
Whether an event is Rapport's (and not another product's on the same provider account)
is the web app's to decide: its checkouts, its ledger, the provider's own record.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from rapport.money import from_minor, too_precise
from rapport.payments.limits import provider_exponent
from rapport.security.compare import same

TOLERANCE = 300  # seconds
SIGNATURE = "Stripe-Signature"
SESSION_EVENTS = (
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
)
PAYMENT_EVENTS = ("charge.refunded", "charge.dispute.created", "charge.dispute.closed")
WON = ("won", "warning_closed")  # a dispute closed with the money the merchant's again


class BadEvent(ValueError):
    """Not a genuine, readable event: answered 400 naming `field`, nothing changes."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def signature_header(body: bytes, secret: str, timestamp: int) -> str:
    """What a provider sends (the dev stand-in signs with this)."""
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
class MoneyChange:
    """What the event says of one payment. `account_id` and `amount` may be unknown (a
    dispute names neither): the ledger's row for the payment has them."""

    event_id: str
    payment_id: str
    account_id: str | None
    amount: Decimal | None
    currency: str
    paid: bool = False
    failed: bool = False
    refunded: Decimal = Decimal(0)
    disputed: Decimal = Decimal(0)
    reference: str | None = None
    session_id: str | None = None
    reinstates: str | None = None  # a dispute won: the payment whose money came back


@dataclass(frozen=True)
class NewDetails:
    """A completed setup: the customer saved new payment details at the provider."""

    event_id: str
    account_id: str
    setup_intent: str
    session_id: str


@dataclass(frozen=True)
class Ignored:
    event_id: str
    type: str


@dataclass(frozen=True)
class Subject:
    """What a money event is about, read before anything else (to tell Rapport's own from
    another product's): a checkout session (`session`) or a payment (`payment`)."""

    kind: Literal["session", "payment"]
    id: str


def subject(event: dict[str, Any]) -> Subject | None:
    """The checkout session or payment a money event of the contract is about; None for
    any other event, or one that names neither (a charge without a PaymentIntent is not
    a Checkout's, so never Rapport's)."""
    kind = event.get("type")
    data = event.get("data")
    thing = data.get("object") if isinstance(data, dict) else None
    if not isinstance(thing, dict):
        return None
    key = {**dict.fromkeys(SESSION_EVENTS, "id"), **dict.fromkeys(PAYMENT_EVENTS, "payment_intent")}
    field = key.get(kind) if isinstance(kind, str) else None
    value = thing.get(field) if field else None
    value = value.get("id") if isinstance(value, dict) else value
    if not isinstance(value, str) or not value or len(value) > 255:
        return None
    return Subject("session" if field == "id" else "payment", value)


def read_event(event: dict[str, Any]) -> MoneyChange | NewDetails | Ignored:
    kind, event_id = str(event.get("type")), event["id"]
    data = event.get("data")
    thing = data.get("object") if isinstance(data, dict) else None
    if not isinstance(thing, dict):
        if kind in (*SESSION_EVENTS, *PAYMENT_EVENTS):
            raise BadEvent("the event has no object", "data.object")
        return Ignored(event_id, kind)
    if kind in SESSION_EVENTS:
        return _session(event_id, kind, thing)
    if kind == "charge.refunded":
        return _refund(event_id, thing)
    if kind == "charge.dispute.created":
        return _dispute(event_id, thing)
    if kind == "charge.dispute.closed" and thing.get("status") in WON:
        return _dispute_won(event_id, thing)
    return Ignored(event_id, kind)


def _session(event_id: str, kind: str, session: dict[str, Any]) -> MoneyChange | NewDetails:
    account_id = _text(session, "client_reference_id", "the account id")
    if session.get("mode") == "setup":
        intent = session.get("setup_intent")
        intent = intent.get("id") if isinstance(intent, dict) else intent
        if not isinstance(intent, str) or not intent:
            raise BadEvent("the setup intent is missing", "data.object.setup_intent")
        return NewDetails(event_id, account_id, intent, _text(session, "id", "the session id"))
    currency = _currency(session)
    amount = _minor(session, "amount_total", currency)
    if amount <= 0:
        raise BadEvent("amount_total (minor units) must be positive", "data.object.amount_total")
    paid = kind == "checkout.session.async_payment_succeeded" or (
        kind == "checkout.session.completed" and session.get("payment_status") == "paid"
    )
    return MoneyChange(
        event_id,
        _text(session, "payment_intent", "the payment id"),
        account_id,
        amount,
        currency,
        paid=paid,
        failed=kind == "checkout.session.async_payment_failed",
        reference=_text(session, "id", "the session id"),
        session_id=session["id"],
    )


def _refund(event_id: str, charge: dict[str, Any]) -> MoneyChange:
    currency = _currency(charge)
    return MoneyChange(
        event_id,
        _text(charge, "payment_intent", "the payment id"),
        None,  # the ledger's, or the checkout's the provider names (never the charge's)
        _minor(charge, "amount", currency),
        currency,
        paid=True,  # only money that arrived can be refunded
        refunded=_minor(charge, "amount_refunded", currency),
        reference=charge.get("id") if isinstance(charge.get("id"), str) else None,
    )


def _dispute(event_id: str, dispute: dict[str, Any]) -> MoneyChange:
    currency = _currency(dispute)
    return MoneyChange(
        event_id,
        _text(dispute, "payment_intent", "the payment id"),
        None,
        None,
        currency,
        paid=True,
        disputed=_minor(dispute, "amount", currency),
    )


@dataclass(frozen=True)
class Intent:
    """A payment as the provider keeps it: what it came to, and the checkout reference
    Rapport gave it (None: not a Rapport checkout's)."""

    reference: str | None
    amount: Decimal
    currency: str


def read_intent(intent: dict[str, Any]) -> Intent:
    """The provider's PaymentIntent (`GET /v1/payment_intents/{id}`); BadEvent when it is
    not one."""
    currency = _currency(intent)
    metadata = intent.get("metadata")
    reference = metadata.get("reference") if isinstance(metadata, dict) else None
    return Intent(
        reference if isinstance(reference, str) and reference else None,
        _minor(intent, "amount", currency),
        currency,
    )


def _dispute_won(event_id: str, dispute: dict[str, Any]) -> MoneyChange:
    """The disputed money came back: a payment of its own, under the dispute's id (so the
    journey, which counted the dispute's reversal, counts it; and a repeat is one)."""
    currency = _currency(dispute)
    payment_id = _text(dispute, "payment_intent", "the payment id")
    return MoneyChange(
        event_id,
        _text(dispute, "id", "the dispute id"),
        None,
        _minor(dispute, "amount", currency),
        currency,
        paid=True,
        reference=payment_id,
        reinstates=payment_id,
    )


def _text(thing: dict[str, Any], key: str, what: str) -> str:
    value = thing.get(key)
    if isinstance(value, dict):
        value = value.get("id")
    if not isinstance(value, str) or not value or len(value) > 128:
        raise BadEvent(f"{what} is missing", f"data.object.{key}")
    return value


def _currency(thing: dict[str, Any]) -> str:
    currency = thing.get("currency")
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha():
        raise BadEvent("the currency is missing", "data.object.currency")
    return currency.upper()


def _minor(thing: dict[str, Any], key: str, currency: str) -> Decimal:
    value = thing.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 10**14:
        raise BadEvent(f"{key} must be a whole number of minor units", f"data.object.{key}")
    amount = from_minor(value, currency, provider_exponent(currency))
    if too_precise(amount, currency) is not None:
        raise BadEvent(f"{key} is not a whole number of {currency}", f"data.object.{key}")
    return amount
