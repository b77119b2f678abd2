"""Everything that crosses a process boundary: workflow input and result, signals,
the update, the status query, and the activities' requests and replies.

Names here are fixed by `shared/spec/contracts.md`. They are plain pydantic
models carried by Temporal's pydantic data converter, so billing systems in
other languages can use the JSON Schemas generated from them.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from rapport.language.account import Account
from rapport.language.types import Channel, Money
from rapport.messages import PlanOffered
from rapport.state import (
    AcceptedPlan,
    HandoffRecord,
    JourneySnapshot,
    JourneyState,
    Payload,
    SentMessage,
    SkippedStep,
)

__all__ = ["AcceptedPlan", "HandoffRecord", "JourneySnapshot", "JourneyState", "SentMessage",
           "SkippedStep"]

WORKFLOW_TYPE = "DelinquencyJourney"
TASK_QUEUE = "collections"
DEFAULT_HISTORY_LIMIT = 10_000


def workflow_id(account_id: str) -> str:
    return f"delinquency-{account_id}"


def _positive(amount: Decimal) -> Decimal:
    if amount <= 0:
        raise ValueError("a payment must be greater than zero")
    return amount




# --- workflow input and result -------------------------------------------------------------

class JourneyStart(Payload):
    """What a billing system sends to start a journey (the public part of the input)."""

    account: Account
    journey: str | None = Field(None, description="journey id; default: the entry rules decide")
    history_limit: int = Field(
        DEFAULT_HISTORY_LIMIT, ge=100,
        description="continue as new after this many history events (or when Temporal "
                    "suggests it)")


class JourneyInput(JourneyStart):
    continued: JourneyState | None = Field(
        None, description="set by the engine when a journey continues as new; leave it out")



class JourneyResult(Payload):
    outcome: str
    messages_sent: int
    paid: bool
    plan: AcceptedPlan | None = None


# --- signals and the update ----------------------------------------------------------------

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


# --- the status query ----------------------------------------------------------------------




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


# --- activities ----------------------------------------------------------------------------

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
    deliver_by: datetime | None = Field(
        None, description="no attempt starts after this (the contact window closes)")


class SendResult(Payload):
    status: Literal["delivered", "duplicate", "rejected"]
    detail: str = ""
    possible_duplicate: bool = Field(
        False, description="retried on a provider without idempotency: may have gone twice")


class HandoffRequest(Payload):
    idempotency_key: str
    queue: str
    account: Account
    balance: Money
    journey_id: str
    segment: str
    summary: str
    at: datetime
