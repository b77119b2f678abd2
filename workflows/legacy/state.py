"""What a journey remembers, and what each signal does to it.

All of it is rebuilt from history on replay, and carried whole into the next run on
continue-as-new (`JourneyInput.continued`). A signal's effect is the state method
`on_<signal name>`: one table row in `rapport.contract.signals` plus its method here
is a new signal.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from rapport.language.account import Account
from rapport.language.types import Channel
from rapport.policy.caps import Delivery
from workflows.legacy.models import (
    AcceptedPlan,
    Engagement,
    HandoffRecord,
    JourneySnapshot,
    JourneyStart,
    Note,
    OptOut,
    PaymentReceived,
    PlanOffered,
    SentMessage,
    SkippedStep,
)


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

    def stopped(self) -> bool:
        """Nothing more to do but finish: paid, ceased, a plan accepted or an end reached."""
        return (
            self.paid or self.ceased or self.accepted_plan is not None or self.outcome is not None
        )

    def ending(self) -> str:
        if self.paid:
            return "paid"
        if self.accepted_plan is not None:
            return "plan_accepted"
        return "ceased" if self.ceased else (self.outcome or "ended")

    def unusable(self, channel: Channel) -> str | None:
        """Why `channel` cannot be used for this customer now, or None."""
        if self.ceased:
            return "ceased"
        if channel in self.suppressed:
            return "opted_out"
        if not self.account.consent.get(channel, False):
            return "no_consent"
        if not self.account.address_for(channel):
            return "no_address"
        return None

    # --- what each signal does ----------------------------------------------------------

    def on_payment_received(self, payment: PaymentReceived) -> None:
        if self.paid:
            return
        self.balance -= payment.amount
        if self.balance <= 0:
            self.paid = True
        elif not self.stopped():
            self.partial_notices_due += 1

    def on_opt_out(self, request: OptOut) -> None:
        if request.channel not in self.suppressed:
            self.suppressed.append(request.channel)

    def on_cease_communication(self, note: Note) -> None:
        self.ceased = True

    def on_hardship_reported(self, note: Note) -> None:
        history = self.account.history.model_copy(update={"hardship": True})
        self.account = self.account.model_copy(update={"history": history})

    def on_dispute(self, note: Note) -> None:
        self.disputed = True

    def on_dispute_resolved(self, note: Note) -> None:
        self.disputed = False

    def on_engagement(self, event: Engagement) -> None:
        self.engaged = True

    def on_pause(self, note: Note) -> None:
        self.paused = True

    def on_resume(self, note: Note) -> None:
        self.paused = False


class JourneyInput(JourneyStart):
    """The workflow's input: what a billing system sends, and the state the engine
    carries when a journey continues as new."""

    continued: JourneyState | None = Field(
        None, description="set by the engine when a journey continues as new; leave it out"
    )
