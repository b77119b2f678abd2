"""What a journey remembers. All of it is rebuilt from history on replay, and
carried whole into the next run on continue-as-new (`JourneyInput.continued`)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from rapport.language.account import Account
from rapport.language.models import JourneyDefinition
from rapport.language.types import Channel, Money
from rapport.messages import PlanOffered
from rapport.policy.caps import Delivery


class Payload(BaseModel):
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


class JourneySnapshot(Payload):
    """The definition and its templates as they were when the journey started."""

    definition: JourneyDefinition
    templates: dict[str, str]
    source: str


class JourneyState(BaseModel):
    account: Account
    balance: Decimal
    started_at: datetime
    snapshot: JourneySnapshot | None = None
    segment: str = "default"
    position: int = 0
    step: str | None = None
    occurrences: dict[str, int] = Field(default_factory=dict)
    ledger: list[Delivery] = Field(default_factory=list)
    sent: list[SentMessage] = Field(default_factory=list)
    skipped: list[SkippedStep] = Field(default_factory=list)
    handoffs: list[HandoffRecord] = Field(default_factory=list)
    suppressed: list[Channel] = Field(default_factory=list)
    ceased: bool = False
    paused: bool = False
    disputed: bool = False
    engaged: bool = False
    paid: bool = False
    plan_offer: PlanOffered | None = None
    accepted_plan: AcceptedPlan | None = None
    partial_notices_due: int = 0
    possible_duplicates: int = 0
    outcome: str | None = None
    errors: list[str] = Field(default_factory=list)

    def occurrence(self, name: str) -> int:
        """Count one more execution of `name` (a step or notice) and return the count."""
        self.occurrences[name] = self.occurrences.get(name, 0) + 1
        return self.occurrences[name]

