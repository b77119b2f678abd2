"""What a journey reports about itself: messages, skips, handoffs, plans."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from rapport.language.models import JourneyDefinition, PlanOffer
from rapport.language.types import Channel, Money
from rapport.policy.plans import PlanOption, plan_options


class Payload(BaseModel):
    """Every payload refuses unknown keys."""

    model_config = ConfigDict(extra="forbid")


class AcceptedPlan(Payload):
    installments: int
    amount: Money
    last_amount: Money
    first_due: date
    accepted_at: datetime


class SentMessage(Payload):
    step: str
    channel: Channel
    template: str
    at: datetime
    key: str


class SkippedStep(Payload):
    step: str
    channel: Channel | None
    at: datetime
    reason: str
    detail: str = ""


class HandoffRecord(Payload):
    step: str
    queue: str
    at: datetime


class PlanOffered(BaseModel):
    """A plan offer as made to the customer; kept in the workflow's state."""

    model_config = ConfigDict(frozen=True)

    options: list[PlanOption]
    offered: list[int]
    min_installment: Decimal
    first_due: date

    @classmethod
    def of(cls, balance: Decimal, offer: PlanOffer, first_due: date) -> PlanOffered | None:
        """The options `offer` allows on `balance`; None when no option qualifies."""
        options = plan_options(balance, offer.installments, offer.min_installment)
        if not options:
            return None
        return cls(options=options, offered=[o.installments for o in options],
                   min_installment=offer.min_installment, first_due=first_due)


class JourneySnapshot(Payload):
    """The definition and its templates as they were when the journey started."""

    definition: JourneyDefinition
    templates: dict[str, str]
    source: str
