"""The payloads of version 1, frozen: what its recorded histories hold."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from rapport.language.account import Account
from rapport.language.models import JourneyDefinition, PlanOffer
from rapport.language.types import Channel, Money
from rapport.policy.plans import PlanOption, plan_options


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
    reason: str = ""


class AcceptPlan(Payload):
    installments: int


@dataclass(frozen=True)
class Signal:
    payload: type[Payload]
    payload_optional: bool = False
    reselects_segment: bool = False


SIGNALS: dict[str, Signal] = {
    "payment_received": Signal(PaymentReceived),
    "opt_out": Signal(OptOut),
    "engagement": Signal(Engagement),
    "cease_communication": Signal(Note, True),
    "hardship_reported": Signal(Note, True, reselects_segment=True),
    "dispute": Signal(Note, True),
    "dispute_resolved": Signal(Note, True),
    "pause": Signal(Note, True),
    "resume": Signal(Note, True),
}


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
    model_config = ConfigDict(frozen=True)

    options: list[PlanOption]
    offered: list[int]
    min_installment: Decimal
    first_due: date

    @classmethod
    def of(cls, balance: Decimal, offer: PlanOffer, first_due: date) -> PlanOffered | None:
        options = plan_options(balance, offer.installments, offer.min_installment)
        if not options:
            return None
        return cls(
            options=options,
            offered=[o.installments for o in options],
            min_installment=offer.min_installment,
            first_due=first_due,
        )


class JourneySnapshot(Payload):
    definition: JourneyDefinition
    templates: dict[str, str]
    source: str


class JourneyStart(Payload):
    account: Account
    journey: str | None = None
    history_limit: int = Field(10_000, ge=100)


class JourneyResult(Payload):
    outcome: str
    messages_sent: int
    paid: bool
    plan: AcceptedPlan | None = None


class JourneyStatus(Payload):
    journey_id: str
    journey_version: int
    account_id: str
    segment: str
    step: str | None
    state: Literal["running", "waiting", "deferred", "paused", "finished"]
    next_action_at: datetime | None
    balance: Money
    messages: list[SentMessage]
    skipped: list[SkippedStep]
    handoffs: list[HandoffRecord]
    suppressed_channels: list[Channel]
    outcome: str | None
    plan_offered: list[int] | None = None
    steps_run: int = 0
    possible_duplicates: int = 0
    errors: list[str] = Field(default_factory=list)


class LoadJourney(Payload):
    journey: str | None
    account: Account


class PaymentCheck(Payload):
    account_id: str
    known_balance: Money
    opening_balance: Money | None = None


class PaymentStatus(Payload):
    balance: Money


class SendRequest(Payload):
    idempotency_key: str
    step: str
    channel: Channel
    template: str
    templates: dict[str, str]
    account: Account
    balance: Money
    sent_at: datetime
    plan: PlanOffered | None = None
    deliver_by: datetime | None = None


class SendResult(Payload):
    status: Literal["delivered", "duplicate", "rejected"]
    detail: str = ""
    possible_duplicate: bool = False


class HandoffRequest(Payload):
    idempotency_key: str
    queue: str
    account: Account
    balance: Money
    journey_id: str
    segment: str
    summary: str
    at: datetime
