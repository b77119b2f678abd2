"""The workflow's public input, its result and the `status` query's answer."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal

from pydantic import Field

from rapport.contract.records import (
    AcceptedPlan,
    Compact,
    HandoffRecord,
    Kept,
    Payload,
    PaymentRecord,
    PlanOffered,
    RefusedEvent,
    ReversalRecord,
    SentMessage,
    SkippedStep,
)
from rapport.language.account import Account
from rapport.language.types import Channel, Money

DEFAULT_HISTORY_LIMIT = 10_000


class JourneyStart(Compact, Payload):
    """What a billing system sends to start a journey."""

    account: Account
    journey: str | None = Field(
        None, max_length=64, description="journey id; default: the entry rules decide"
    )
    history_limit: int = Field(
        DEFAULT_HISTORY_LIMIT,
        ge=100,
        le=50_000,
        description="continue as new after this many history events (or when Temporal suggests it)",
    )


def fingerprint(account: Account) -> str:
    """A short digest of an account's data: a start with different data shows it (no PII)."""
    return hashlib.sha256(account.model_dump_json().encode()).hexdigest()[:16]


class JourneyResult(Kept):
    outcome: str
    messages_sent: int
    paid: bool
    plan: AcceptedPlan | None = None


class JourneyStatus(Kept):
    journey_id: str
    journey_version: int
    account_id: str
    segment: str
    step: str | None
    state: Literal["running", "waiting", "deferred", "paused", "finished"]
    next_action_at: datetime | None
    balance: Money
    currency: str = ""
    messages: list[SentMessage] = Field(description="the most recent messages")
    messages_sent: int = 0
    skipped: list[SkippedStep]
    handoffs: list[HandoffRecord]
    suppressed_channels: list[Channel]
    outcome: str | None
    plan_offered: list[int] | None = None
    steps_run: int = 0
    possible_duplicates: int = 0
    errors: list[str] = Field(default_factory=list)
    payments: list[PaymentRecord] = Field(default_factory=list)
    duplicate_payments: list[str] = Field(
        default_factory=list, description="payment ids received more than once (ignored)"
    )
    reversals: list[ReversalRecord] = Field(
        default_factory=list, description="payments that went back: refunds, disputes"
    )
    refused: list[RefusedEvent] = Field(
        default_factory=list, description="events the journey could not take, and why"
    )
    account_fingerprint: str = ""
    journey_hash: str = ""
    # what the customer's portal shows and allows (no PII)
    minimum_due: Money | None = None
    locale: str = ""
    timezone: str = ""
    plan_offer: PlanOffered | None = Field(
        None, description="the plan offer standing now, with each option's amounts"
    )
    accepted_plan: AcceptedPlan | None = None
    disputed: bool = False
    callback_at: datetime | None = Field(
        None, description="when the customer asked to be called (outreach paused)"
    )
