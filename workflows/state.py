"""What a journey remembers, and what each signal does to it.

All of it is rebuilt from history on replay, and carried into the next run on
continue-as-new (pruned to what the journey still needs: recent records, whole
counts). A signal's effect is the method `on_<signal name>`: a row in
`rapport.contract.signals` plus its method here is a new signal.

The state is `Kept`: read tolerantly, so a field added or dropped by a later
version does not break a journey carried across a deploy.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from pydantic import Field

from rapport.contract.journey import JourneyStart
from rapport.contract.payloads import (
    AccountUpdated,
    CallbackRequest,
    Conversation,
    Engagement,
    MigrateTo,
    Note,
    OptOut,
    PaymentDetailsUpdated,
    PaymentReceived,
    PaymentReversed,
)
from rapport.contract.records import (
    RECENT,
    AcceptedPlan,
    Deferral,
    HandoffRecord,
    JourneyPin,
    Kept,
    MigrationRecord,
    PaymentRecord,
    PendingMigration,
    PlanOffered,
    Receipt,
    RefusedEvent,
    ReversalRecord,
    SentMessage,
    SkippedStep,
    WaitRecord,
    recent,
)
from rapport.language.account import Account
from rapport.language.types import Channel, Money
from rapport.money import too_precise
from rapport.policy.caps import Delivery
from rapport.policy.installments import Plan, reverse_payment, take_payment
from rapport.policy.limits import PlaceRules
from rapport.policy.window import local
from rapport.policy.zone import ZoneRules

PAYMENT_IDS_KEPT = 500  # enough to recognise any repeat; a journey sees a handful
# `workflow.patched` ids: a plan offered from here on is cut in the currency's minor units
# (a yen plan in whole yen); journeys that offered one in cents before replay with cents.
PLANS_IN_MINOR_UNITS = "plans-in-minor-units"
PLAN_THANKS = "on_plan.thanks"  # the step a plan's thank-you is recorded under


class Refused(ValueError):
    """A signal that cannot be taken as it is; the journey records why."""


class Waiting(Kept):
    """The `wait_until` under way: what ends it, and (once it happened) what did. The
    signals' effects mark it, so it holds across a continue-as-new."""

    step: str
    any_of: list[str]
    began: datetime
    ended_by: str | None = None


class JourneyState(Kept):
    account: Account
    balance: Money
    started_at: datetime
    pin: JourneyPin | None = None
    zone: ZoneRules | None = None
    segment: str = "default"
    reselect: bool = False  # choose the segment again before the next step
    position: int = 0
    step: str | None = None
    occurrences: dict[str, int] = Field(default_factory=dict)
    entered: dict[str, int] = Field(default_factory=dict)  # begun, not finished: resumable
    resume_at: datetime | None = None  # the end of the wait under way
    ledger: list[Delivery] = Field(default_factory=list)
    sent: list[SentMessage] = Field(default_factory=list)
    messages_sent: int = 0
    skipped: list[SkippedStep] = Field(default_factory=list)
    handoffs: list[HandoffRecord] = Field(default_factory=list)
    suppressed: list[Channel] = Field(default_factory=list)
    ceased: bool = False
    paused: bool = False
    callback_at: datetime | None = None
    callbacks_due: int = 0
    disputed: bool = False
    engaged: bool = False
    paid: bool = False
    plan_offer: PlanOffered | None = None
    accepted_plan: AcceptedPlan | None = None
    partial_notices_due: int = 0
    possible_duplicates: int = 0
    outcome: str | None = None
    errors: list[str] = Field(default_factory=list)
    payments: list[PaymentRecord] = Field(default_factory=list)
    payment_ids: list[str] = Field(default_factory=list)
    duplicate_payments: list[str] = Field(default_factory=list)
    reversals: list[ReversalRecord] = Field(default_factory=list)
    reversed_amounts: dict[str, Money] = Field(default_factory=dict)  # by payment id, in all
    payment_details: str | None = None  # the new payment method's reference
    base_balance: Money | None = None  # the balance account_updated last set (None: the opening)
    balance_set_at: datetime | None = None  # when (None: when the journey started)
    refused: list[RefusedEvent] = Field(default_factory=list)
    attempted: list[str] = Field(default_factory=list)  # keys a delivery may have reached
    failing_since: datetime | None = None  # the send under way has failed since
    stop_seq: int = 0  # stops kept in the store so far (workflows.core._record_stop)
    # The journey's facts for `journey.amount_paid` and `journey.payments`; None in a state
    # carried from before they existed: then read from the payment records (`paid_so_far`).
    amount_paid: Money | None = None
    payments_counted: int | None = None
    replies: int = 0  # times the customer got in touch (`replied`): `journey.replied`
    waiting: Waiting | None = None  # the wait_until under way
    waits: list[WaitRecord] = Field(default_factory=list)  # wait_untils that ended
    migrating: PendingMigration | None = None  # a migrate_to taken, not yet done
    migrations: list[MigrationRecord] = Field(default_factory=list)  # versions moved between
    # A plan the journey follows (`on_plan`, since the plans patch): the one the customer is
    # on, or was last; `accepted_plan` stays set while it runs (the steps stop for it).
    plan: Plan | None = None
    earlier_plans: list[Plan] = Field(default_factory=list)  # replaced or broken, recent
    plans_accepted: int = 0
    plan_changes: int = 0  # times a customer on a plan chose a new one
    plan_thanks_due: list[str] = Field(default_factory=list)  # payment ids to thank for
    thanking: str | None = None  # the payment the thank-you under way is for
    stops_first: bool = False  # this run decides the stops patch first (JourneyCore)
    expressions: int = 1  # the sandbox version its conditions run on (Prepared.expressions)
    # the rule packs (since the `rules` patch, workflows/rules.py)
    rules: PlaceRules | None = None  # None: read again before the next decision
    ledger_from: datetime | None = None  # the ledger holds every delivery after this
    deferred: list[Deferral] = Field(default_factory=list)
    talked_at: datetime | None = None  # the last conversation with an agent

    # --- where the journey is ------------------------------------------------------------

    def begin(self, name: str) -> int:
        """Begin a step or notice and return its occurrence; one begun before a continue-
        as-new and not finished is resumed with the same occurrence (the same keys)."""
        if name not in self.entered:
            self.occurrences[name] = self.occurrences.get(name, 0) + 1
            self.entered[name] = self.occurrences[name]
        return self.entered[name]

    def finish(self, name: str) -> None:
        self.entered.pop(name, None)
        if not self.entered:
            self.resume_at = None

    def stopped(self) -> bool:
        """Nothing more to do but finish: paid, ceased, a plan accepted or an end reached."""
        return (
            self.paid or self.ceased or self.accepted_plan is not None or self.outcome is not None
        )

    def paid_so_far(self) -> tuple[Decimal, int]:
        """`journey.amount_paid` and `journey.payments`: what this journey counted of the
        payments it received (not those after it ended paid), less what went back; a
        payment that went back in full is no longer one of them."""
        if self.amount_paid is not None and self.payments_counted is not None:
            return self.amount_paid, self.payments_counted
        counted = [p for p in self.payments if p.counted]
        back = self.reversed_amounts
        amount = sum((p.amount for p in counted), Decimal(0)) - sum(back.values(), Decimal(0))
        whole = sum(1 for p in counted if back.get(p.payment_id, Decimal(0)) >= p.amount)
        return max(amount, Decimal(0)), len(counted) - whole

    def heard(self, event: str) -> None:
        """Something a wait_until may wait for happened: it ends the wait if listed."""
        waiting = self.waiting
        if waiting is not None and waiting.ended_by is None and event in waiting.any_of:
            self.waiting = waiting.model_copy(update={"ended_by": event})

    def replied(self) -> None:
        """The customer got in touch (`journey.replied`)."""
        self.replies += 1
        self.heard("replied")

    def held(self) -> bool:
        return self.paused or self.disputed

    def on_plan(self) -> bool:
        """The customer is on a plan the journey follows."""
        return self.plan is not None and self.plan.running and self.accepted_plan is not None

    def wall(self, now: datetime) -> datetime:
        """`now` as the customer's wall-clock time, naive (a plan's moments are)."""
        return (local(now, self.zone) if self.zone else now).replace(tzinfo=None)

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

    # --- records -------------------------------------------------------------------------

    def record_sent(self, message: SentMessage) -> None:
        self.ledger.append(Delivery(at=message.at, channel=message.channel))
        self.sent = recent([*self.sent, message])
        self.messages_sent += 1

    def refuse(self, event: str, at: datetime, error: str, payment_id: str | None = None) -> None:
        refused = RefusedEvent(event=event, at=at, error=error, payment_id=payment_id)
        self.refused = recent([*self.refused, refused])

    def pruned(self) -> JourneyState:
        """What the next run needs: recent records (counts stay whole)."""
        return self.model_copy(
            update={
                "skipped": recent(self.skipped),
                "deferred": recent(self.deferred),
                "handoffs": recent(self.handoffs),
                "errors": self.errors[-RECENT:],
                "payments": recent(self.payments),
                "payment_ids": self.payment_ids[-PAYMENT_IDS_KEPT:],
                "duplicate_payments": self.duplicate_payments[-RECENT:],
                "reversals": recent(self.reversals),
                "waits": recent(self.waits),
                "migrations": recent(self.migrations),
                "reversed_amounts": {
                    k: v for k, v in self.reversed_amounts.items() if k in self.payment_ids
                },
            }
        )

    def settle(self, balance: Decimal, now: datetime | None = None) -> None:
        self.balance = balance
        if balance <= 0:
            self.paid = True
            self.outcome = "paid"  # said at once; the thank-you may still wait for its window
            if self.plan is not None and self.plan.running:
                self.plan = self.plan.end("paid", self.wall(now) if now else None)

    def _check_amount(self, amount: Decimal, of: str = "") -> None:
        problem = too_precise(amount, self.account.currency)
        if problem is not None:
            raise Refused(f"{of}{problem}")

    # --- what each signal does ----------------------------------------------------------

    def on_payment_received(self, payment: PaymentReceived, now: datetime) -> None:
        if payment.payment_id in self.payment_ids:
            self.duplicate_payments = [*self.duplicate_payments, payment.payment_id][-RECENT:]
            return
        if payment.currency is not None and payment.currency != self.account.currency:
            raise Refused(
                f"payment {payment.payment_id} is in {payment.currency}; the account "
                f"is in {self.account.currency}"
            )
        self._check_amount(payment.amount, f"payment {payment.payment_id}: ")
        amount, count = self.paid_so_far()  # before this payment's record
        self.payment_ids = [*self.payment_ids, payment.payment_id][-PAYMENT_IDS_KEPT:]
        balance = self.balance if self.paid else self.balance - payment.amount
        self.payments = recent(
            [
                *self.payments,
                PaymentRecord(
                    payment_id=payment.payment_id,
                    amount=payment.amount,
                    at=now,
                    balance_after=balance,
                    counted=not self.paid,  # after paid: in the ledger, for billing
                ),
            ]
        )
        if self.paid:
            return
        self.amount_paid, self.payments_counted = amount + payment.amount, count + 1
        self.heard("paid")
        following = self.on_plan()
        if following and self.plan is not None:
            paid_on = min(payment.paid_at or now, now)
            self.plan = take_payment(
                self.plan, payment.payment_id, payment.amount, self.wall(paid_on).date()
            )
        self.settle(balance, now)
        if following and not self.paid:
            self.plan_thanks_due = [*self.plan_thanks_due, payment.payment_id][-RECENT:]
        if not self.paid and not self.stopped():
            self.partial_notices_due += 1

    def on_payment_reversed(self, reversal: PaymentReversed, now: datetime) -> None:
        """What went back of a payment this journey counted goes on the balance again.
        A journey that ended paid does not reopen: the reversal waits in the ledger for
        billing (`journey payments --unapplied`), which decides on a new journey."""
        if reversal.currency is not None and reversal.currency != self.account.currency:
            raise Refused(
                f"reversal of {reversal.payment_id} is in {reversal.currency}; the account "
                f"is in {self.account.currency}"
            )
        self._check_amount(reversal.amount, f"reversal of {reversal.payment_id}: ")
        record = next((p for p in self.payments if p.payment_id == reversal.payment_id), None)
        if reversal.payment_id not in self.payment_ids or (record and not record.counted):
            raise Refused(f"payment {reversal.payment_id} was not counted by this journey")
        if record is not None and reversal.amount > record.amount:
            raise Refused(
                f"{reversal.amount} is more than payment {reversal.payment_id} ({record.amount})"
            )
        before = self.reversed_amounts.get(reversal.payment_id, Decimal(0))
        if reversal.amount <= before:
            return  # told before
        if self.paid:
            raise Refused(
                f"the journey has ended paid; the reversal of {reversal.payment_id} is in "
                "the payments ledger for billing"
            )
        amount, count = self.paid_so_far()
        whole = record is not None and reversal.amount >= record.amount
        self.amount_paid = max(amount - (reversal.amount - before), Decimal(0))
        self.payments_counted = max(count - 1, 0) if whole else count
        self.balance += reversal.amount - before
        if self.on_plan() and self.plan is not None:
            self.plan = reverse_payment(
                self.plan, reversal.payment_id, reversal.amount - before, self.wall(now)
            )
            self.plan_thanks_due = [p for p in self.plan_thanks_due if p != reversal.payment_id]
        self.reversed_amounts = {**self.reversed_amounts, reversal.payment_id: reversal.amount}
        self.reversals = recent(
            [
                *self.reversals,
                ReversalRecord(
                    payment_id=reversal.payment_id,
                    amount=reversal.amount,
                    reason=reversal.reason,
                    at=now,
                    balance_after=self.balance,
                ),
            ]
        )

    def on_payment_details_updated(self, update: PaymentDetailsUpdated, now: datetime) -> None:
        history = self.account.history.model_copy(update={"payment_method_updated_days_ago": 0})
        self.account = self.account.model_copy(update={"history": history})
        self.payment_details, self.engaged, self.reselect = update.reference, True, True

    def billing_facts(self, step_id: str) -> dict[str, object]:
        """What a send carries for billing's check and the thank-you: the balance the
        journey began with (or account_updated last set) and since when, so a local
        ledger counts only payments after it; and the payment a thank-you is for."""
        opening, paid = self.account.balance, self.receipt(step_id)
        receipt = None
        if paid is not None:
            day = (local(paid.at, self.zone) if self.zone else paid.at).date()
            receipt = Receipt(reference=paid.payment_id, amount=paid.amount, day=day)
        return {
            "opening_balance": opening if opening != self.balance else None,
            "base_balance": self.base_balance if self.base_balance is not None else opening,
            "balance_since": self.balance_set_at or self.started_at,
            "payment": receipt,
        }

    def receipt(self, step_id: str) -> PaymentRecord | None:
        """The payment a thank-you is for: the one that cleared the balance (`on_paid`), or
        the latest (`on_partial_payment`); None for any other message."""
        counted = [p for p in self.payments if p.counted]
        if step_id == "on_paid":
            return next((p for p in reversed(counted) if p.balance_after <= 0), None)
        if step_id == "on_partial_payment":
            return counted[-1] if counted else None
        if step_id == PLAN_THANKS:
            return next((p for p in counted if p.payment_id == self.thanking), None)
        return None

    def on_account_updated(self, update: AccountUpdated, now: datetime) -> None:
        account = update.applied_to(self.account)
        if update.balance is not None:
            self._check_amount(update.balance)
        if account.customer.timezone != self.account.customer.timezone:
            self.zone = None  # read again before the next decision
        if _place(account) != _place(self.account):
            self.rules = None  # the packs and zones of the new place, before the next decision
        self.account = account
        self.reselect = True
        if update.balance is not None and not self.paid:
            self.base_balance, self.balance_set_at = update.balance, now
            self.settle(update.balance, now)

    def on_opt_out(self, request: OptOut, now: datetime) -> None:
        if request.channel not in self.suppressed:
            self.suppressed.append(request.channel)

    def on_cease_communication(self, note: Note, now: datetime) -> None:
        self.ceased = True

    def on_hardship_reported(self, note: Note, now: datetime) -> None:
        history = self.account.history.model_copy(update={"hardship": True})
        self.account = self.account.model_copy(update={"history": history})
        self.reselect = True
        self.replied()  # the customer told the portal, or billing, of a hardship

    def on_dispute(self, note: Note, now: datetime) -> None:
        self.disputed = True
        self.replied()  # the customer disputes the debt: they got in touch

    def on_dispute_resolved(self, note: Note, now: datetime) -> None:
        self.disputed = False

    def on_engagement(self, event: Engagement, now: datetime) -> None:
        self.engaged = True
        if event.kind == "replied":  # a text back that is no keyword (STOP, HELP, START)
            self.replied()

    def on_conversation(self, talk: Conversation, now: datetime) -> None:
        at = talk.talked_at or now
        if at > now + timedelta(minutes=5):
            raise Refused(f"the conversation is dated {at.isoformat()}, in the future")
        self.talked_at = max(at, self.talked_at) if self.talked_at else at
        self.engaged = True

    def on_callback_requested(self, request: CallbackRequest, now: datetime) -> None:
        if request.at < now - timedelta(minutes=5):
            raise Refused(f"the call was asked for {request.at.isoformat()}, in the past")
        self.paused, self.callback_at = True, request.at
        self.callbacks_due += 1
        self.replied()  # asked for a call (the portal's "talk to us")

    def on_closed_by_billing(self, note: Note, now: datetime) -> None:
        if not self.stopped():
            self.outcome = "closed_by_billing"

    def on_migrate_to(self, request: MigrateTo, now: datetime) -> None:
        """Record the move asked for; the workflow resolves the version and moves at
        its next safe point (workflows/migration.py)."""
        if self.stopped():
            raise Refused(f"the journey has ended ({self.ending()})")
        if self.pin is None:
            raise Refused("the journey has not pinned its journey yet: send it again later")
        if request.version == self.pin.version and request.hash in (None, self.pin.hash):
            if self.migrations and self.migrations[-1].to_hash == self.pin.hash:
                return  # a second ask for the move just made (two operators at once): done
            raise Refused(f"the journey already follows {self.pin.id} v{self.pin.version}")
        pending = self.migrating
        if (
            pending is not None
            and pending.version == request.version
            and request.hash in (None, pending.hash, pending.pin.hash if pending.pin else None)
        ):
            return  # the same move asked twice: the first stands
        self.migrating = PendingMigration(
            version=request.version, hash=request.hash, asked_at=now, reason=request.reason
        )

    def on_pause(self, note: Note, now: datetime) -> None:
        self.paused = True

    def on_resume(self, note: Note, now: datetime) -> None:
        self.paused = False


def _place(account: Account) -> tuple[object, ...]:
    """What the rule packs and the possible zones of an account depend on."""
    customer = account.customer
    return customer.address, customer.phone, customer.timezone


class JourneyInput(JourneyStart):
    """The workflow's input: what a billing system sends, and the state the engine
    carries when a journey continues as new (refused from anyone else)."""

    carried: dict[str, object] | None = Field(
        None, description="set by the engine when a journey continues as new; leave it out"
    )
