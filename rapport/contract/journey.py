"""The workflow's public input, its result and the `status` query's answer."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from rapport.contract.records import AcceptedPlan, HandoffRecord, Payload, SentMessage, SkippedStep
from rapport.language.account import Account
from rapport.language.types import Channel, Money

DEFAULT_HISTORY_LIMIT = 10_000


class JourneyStart(Payload):
    """What a billing system sends to start a journey."""

    account: Account
    journey: str | None = Field(None, description="journey id; default: the entry rules decide")
    history_limit: int = Field(
        DEFAULT_HISTORY_LIMIT, ge=100,
        description="continue as new after this many history events (or when Temporal "
                    "suggests it)")


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
