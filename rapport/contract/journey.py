"""The workflow's public input, its result and the `status` query's answer."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field

from rapport.contract.records import (
    AcceptedPlan,
    Compact,
    Deferral,
    HandoffRecord,
    JourneyPin,
    Kept,
    MigrationRecord,
    Payload,
    PaymentRecord,
    PlanChoices,
    PlanOffered,
    PlanView,
    RefusedEvent,
    ReversalRecord,
    SentMessage,
    SkippedStep,
    WaitRecord,
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


def summary(account: Account, journey: str | None, version: int | None = None) -> str:
    """The one line an operator sees at the top of the journey's page in the UI (no PII):
    the journey, its version when the starter knows it (`early-stage v2`), the account.
    Our clients set it with the start (Temporal keeps it for that run only: a run
    continued as new has none); the workflow's current details, which it writes itself
    for any starter, lead with the journey and version it runs."""
    named = journey or "journey chosen by entry rules"
    if journey and version is not None:
        named = f"{journey} v{version}"
    return (
        f"{named} for account {account.account_id}: "
        f"{account.balance} {account.currency}, {account.days_past_due} days past due"
    )


def fingerprint(account: Account) -> str:
    """A short digest of what an account's data means (no PII): a start with different
    data shows it, and only then. Amounts by value (`"182.4"` is `"182.40"`), mappings in
    any order (`consent`, `attributes`), defaults filled in, an ISO region as normalised:
    two writings of the same account get the same digest."""
    canonical = json.dumps(
        _meaning(account.model_dump(mode="python")), sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _meaning(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _meaning(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_meaning(item) for item in value]
    if isinstance(value, Decimal):
        return f"{value.normalize():f}" if value else "0"
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


class JourneyResult(Kept):
    outcome: str
    messages_sent: int
    paid: bool
    plan: AcceptedPlan | None = None
    # what the journey did, for `journey audit` once it has ended (the most recent of each)
    messages: list[SentMessage] = Field(default_factory=list)
    skipped: list[SkippedStep] = Field(default_factory=list)
    deferred: list[Deferral] = Field(default_factory=list)


class JourneyStatus(Kept):
    journey_id: str
    journey_version: int
    account_id: str
    segment: str
    step: str | None
    state: Literal["running", "waiting", "deferred", "paused", "finished", "waiting_for_store"]
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
    plan: PlanView | None = Field(
        None,
        description="the plan the customer is on (or was last): each installment's due "
        "date, amount, what is paid and its state (due, paid, late, missed)",
    )
    earlier_plans: list[PlanView] = Field(
        default_factory=list, description="plans before it that were replaced or broke"
    )
    plan_choices: PlanChoices | None = Field(
        None,
        description="the plans the customer may choose now (the journey's plan terms, or "
        "the offer standing), on the balance now; none: no plan may be chosen",
    )
    disputed: bool = False
    callback_at: datetime | None = Field(
        None, description="when the customer asked to be called (outreach paused)"
    )
    waits: list[WaitRecord] = Field(
        default_factory=list, description="wait_until steps that ended, and what ended each"
    )
    migrations: list[MigrationRecord] = Field(
        default_factory=list, description="moves to other versions of the definition"
    )
    migrating_to: int | None = Field(
        None, description="the version a migrate_to asked for, until the journey moves"
    )
    zones: list[str] = Field(
        default_factory=list,
        description="every time zone the customer may be in (stated, address, phone): "
        "messages go only when the window is open in each",
    )
    rule_packs: list[str] = Field(
        default_factory=list, description="the rule packs the account is under (by id)"
    )
    deferred: list[Deferral] = Field(
        default_factory=list,
        description="messages that waited, until when, and the rule that decided",
    )
    talked_at: datetime | None = Field(
        None, description="the customer's last conversation with an agent (a call cooldown)"
    )


class MigrationPreviewRequest(Payload):
    """Query `migration_preview`: what a move to this version would do now."""

    version: int
    hash: str


class NextContact(Kept):
    at: datetime
    local: str = Field("", description="when, in the customer's time: Tue 7 Mar 09:00")
    step: str
    channel: Channel
    template: str


class MigrationPreview(Kept):
    """A journey's own answer to `journey migrate --dry-run`: where it is, where it would
    be in the other version, and its next contact there. Computed from its state (a pure
    computation in the workflow, nothing sent or changed); contacts assume no event comes
    first (a payment, a reply, an opt-out)."""

    journey_id: str
    now: JourneyPin | None
    step_now: str | None
    to: JourneyPin
    step_then: str | None = Field(description="where it is (or goes next) in the new version")
    moves: str = Field(description="when it moves: where it rests in a wait, or after a step")
    next_contact: NextContact | None = None
    then: str = Field("", description="when there is no next contact: why (it ends, it is held)")
    refused: str | None = Field(None, description="why it cannot move (then nothing is sent)")
