"""What the signals and the update carry."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator

from rapport.contract.records import Payload
from rapport.language.types import Channel, Money


def _positive(amount: Decimal) -> Decimal:
    if amount <= 0:
        raise ValueError("a payment must be greater than zero")
    return amount


class PaymentReceived(Payload):
    amount: Annotated[Money, AfterValidator(_positive)]
    paid_at: datetime | None = None


class OptOut(Payload):
    channel: Channel


class Engagement(Payload):
    kind: Literal["opened", "clicked", "replied"]


class Note(Payload):
    """The payload of signals that need none (`cease_communication`, `pause`, ...)."""

    reason: str = ""


class AcceptPlan(Payload):
    installments: int
