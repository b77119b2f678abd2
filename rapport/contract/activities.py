"""The activities' requests and replies."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from rapport.contract.records import Payload, PlanOffered
from rapport.language.account import Account
from rapport.language.types import Channel, Money


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
