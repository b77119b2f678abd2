"""What the HTTP API takes and answers. Requests are the workflow contract's own models
(`rapport.contract`): the start is the workflow's input, an update is `account_updated`,
each event is its signal's payload with its `type`; so `/openapi.json` and `schemas/`
say the same thing, and what the API accepts the journey takes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field, create_model

from rapport.contract.journey import JourneyStart, JourneyStatus
from rapport.contract.names import ACCEPT_PLAN_UPDATE
from rapport.contract.payloads import (
    AcceptPlan,
    AccountUpdated,
    Currency,
    PaymentId,
    positive,
)
from rapport.contract.records import AcceptedPlan, Payload
from rapport.contract.signals import SIGNALS
from rapport.language.types import POSITIVE_AMOUNT, Money

# Money comes in at /payments, where the ledger takes it first: never as a bare event.
MONEY_SIGNALS = ("payment_received", "payment_reversed", "payment_details_updated")
STOP_EVENTS = ("opt_out", "cease_communication")  # kept in the consent record first


EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # a paid_at before it is a typo or a default
SKEW = timedelta(minutes=5)  # how far ahead of our clock the sender's may be


def _when_paid(paid_at: datetime) -> datetime:
    if paid_at < EARLIEST:
        raise ValueError(f"before {EARLIEST:%Y-%m-%d}: give when the payer paid")
    if paid_at > datetime.now(UTC) + SKEW:
        raise ValueError("in the future: give when the payer paid")
    return paid_at


class PaymentRequest(Payload):
    """A payment that succeeded at the billing system."""

    amount: Annotated[Money, AfterValidator(positive), POSITIVE_AMOUNT]
    currency: Currency = Field(description="ISO 4217; must be the account's currency")
    payment_id: PaymentId = Field(
        description="your id for the payment (1-128 printable characters); a repeat changes nothing"
    )
    paid_at: Annotated[AwareDatetime, AfterValidator(_when_paid)] | None = Field(
        None,
        description="when the payer paid (the journey dates the payment by it: which "
        f"installment of a plan it pays); from {EARLIEST.year} up to now (a few minutes "
        "of clock skew allowed); default: when Rapport receives it",
    )


class StartAnswer(BaseModel):
    account_id: str
    workflow_id: str
    run_id: str
    started: bool = Field(description="true: this call started the journey; false: one runs")
    differs: bool = Field(
        description="a journey was running with other data: it keeps its own (send the "
        "change with PATCH /v1/accounts/{account_id})"
    )


class UpdateAnswer(BaseModel):
    account_id: str
    updated: list[str] = Field(description="the fields the journey was told of")


class PaymentAnswer(BaseModel):
    account_id: str
    payment_id: str
    amount: Money
    currency: str
    status: str = Field(description="the ledger's status of the payment")
    applied: bool = Field(description="a running journey took it (else: billing's to settle)")


class EventAnswer(BaseModel):
    account_id: str
    type: str
    consent_recorded: bool = Field(
        description="an opt-out or cease kept in the consent record (for later journeys too)"
    )
    journey_running: bool = Field(description="a running journey was told")
    plan: AcceptedPlan | None = Field(None, description="for accept_plan: the plan accepted")


class FieldProblem(BaseModel):
    field: str
    detail: str


class ProblemDocument(BaseModel):
    """RFC 9457 (`application/problem+json`): every refusal of the API."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    field: str | None = Field(None, description="the field at fault, when one is")
    payment_id: str | None = Field(None, description="the payment_id the request carried")
    errors: list[FieldProblem] | None = Field(None, description="every field at fault")


def _event(name: str, payload: type[BaseModel]) -> type[BaseModel]:
    kind: Any = Literal[name]
    model: type[BaseModel] = create_model(
        f"{''.join(part.title() for part in name.split('_'))}Event",
        __base__=payload,
        __doc__=f"`{name}`: " + (SIGNALS[name].effect if name in SIGNALS else "accept a plan"),
        type=(kind, Field(description="the event")),
    )
    return model


EVENTS: dict[str, type[BaseModel]] = {
    **{
        name: _event(name, signal.payload)
        for name, signal in SIGNALS.items()
        if name not in MONEY_SIGNALS and not signal.operators_only
    },
    ACCEPT_PLAN_UPDATE: _event(ACCEPT_PLAN_UPDATE, AcceptPlan),
}
EventRequest: Any = Annotated[Union[tuple(EVENTS.values())], Field(discriminator="type")]  # noqa: UP007

# The models /openapi.json names, by what they are.
START = JourneyStart
STATUS = JourneyStatus
UPDATE = AccountUpdated
