"""A plan the customer is on: its installments, which payment paid what, and the state
of each installment at a moment.

Pure: the workflow keeps a `Plan` in its state and asks these functions. Dates are the
customer's calendar days; moments are customer-local wall times (naive), so a due date
ends at midnight where the customer lives, daylight-saving changes included.

- A payment pays the oldest installment still open first, then the next: a part payment
  leaves the rest of that installment open, an early one pays ahead, a late one the
  installment it is late for, and money beyond the last installment is kept as
  `carried` (the balance is cleared by then, unless billing raised it meanwhile).
- A reversal (a refund, a dispute, a failed debit) takes back what that payment paid,
  the last of it first, and reopens those installments; one whose due date has passed
  gets its grace again from the reversal (the customer could not have known).
- An installment is `paid` once paid in full; before its due date ends it is `due`;
  within `grace` after, `late`; then `missed`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rapport.language.models import Frequency
from rapport.language.types import Money

InstallmentState = Literal["due", "paid", "late", "missed"]
PlanEnd = Literal["paid", "broken", "replaced", "finished", "ended"]
ZERO = Decimal(0)


class _Kept(BaseModel):
    """Kept in a journey's state across deploys: read tolerantly."""

    model_config = ConfigDict(extra="ignore")


class Installment(_Kept):
    number: int
    due: date
    amount: Money
    paid: Money = ZERO
    paid_on: date | None = Field(None, description="the day it was paid in full")
    moved_from: date | None = Field(
        None, description="the date the schedule gave, when the rule packs closed that day"
    )
    moved_for: str | None = Field(None, description="why it was moved (the rule and the day)")
    grace_from: datetime | None = Field(
        None, description="customer-local: a reversal reopened it after its due date"
    )
    reminded: bool = False  # its reminder went (or was let go: see `Plan.remind_at`)

    @property
    def left(self) -> Decimal:
        return max(self.amount - self.paid, ZERO)

    def late_from(self) -> datetime:
        """When it is late: the end of its due date, customer-local."""
        return datetime.combine(self.due + timedelta(days=1), time.min)

    def missed_from(self, grace: timedelta) -> datetime:
        start = self.late_from()
        if self.grace_from is not None and self.grace_from > start:
            start = self.grace_from
        return start + grace

    def state(self, now: datetime, grace: timedelta) -> InstallmentState:
        if self.left == 0:
            return "paid"
        if now < self.late_from():
            return "due"
        return "late" if now < self.missed_from(grace) else "missed"


class Allocation(_Kept):
    """What one payment paid of one installment (number 0: carried beyond the plan)."""

    payment_id: str
    number: int
    amount: Money


class Plan(_Kept):
    """A plan as the customer chose it, and what has been paid of it."""

    number: int = Field(description="1 for the journey's first plan, 2 for the next...")
    installments: list[Installment]
    every: Frequency = "monthly"
    accepted_at: datetime
    allocations: list[Allocation] = Field(default_factory=list)
    carried: Money = Field(ZERO, description="paid beyond the last installment")
    ended: PlanEnd | None = None
    ended_at: datetime | None = Field(None, description="customer-local: when it ended")
    confirmed: bool = False  # its confirmation went (or there is none)

    @property
    def total(self) -> Decimal:
        return sum((i.amount for i in self.installments), ZERO)

    @property
    def left(self) -> Decimal:
        return sum((i.left for i in self.installments), ZERO)

    @property
    def running(self) -> bool:
        return self.ended is None

    def end(self, how: PlanEnd, at: datetime | None) -> Plan:
        """The plan ended `how` at `at` (customer-local): its states stay as they were."""
        return self.model_copy(update={"ended": how, "ended_at": at})

    def as_of(self, now: datetime) -> datetime:
        """The moment its states are read at: now, or when it ended."""
        return min(now, self.ended_at) if self.ended_at is not None else now

    def next_open(self) -> Installment | None:
        """The installment to pay next: the oldest not paid in full."""
        return next((i for i in self.installments if i.left > 0), None)

    def states(self, now: datetime, grace: timedelta) -> list[InstallmentState]:
        return [i.state(now, grace) for i in self.installments]

    def misses(self, now: datetime, grace: timedelta) -> int:
        return sum(1 for state in self.states(now, grace) if state == "missed")

    def with_installment(self, changed: Installment) -> Plan:
        rows = [changed if i.number == changed.number else i for i in self.installments]
        return self.model_copy(update={"installments": rows})

    def next_moment(
        self, now: datetime, grace: timedelta, remind_before: timedelta
    ) -> datetime | None:
        """The next moment something is to be done or changes: a reminder is due, an
        installment turns late or missed. None: nothing before the plan's end."""
        moments: list[datetime] = []
        for i in self.installments:
            if i.left == 0:
                continue
            if not i.reminded:
                moments.append(remind_at(i, remind_before))
            moments += [i.late_from(), i.missed_from(grace)]
        later = [m for m in moments if m > now]
        return min(later) if later else None


def remind_at(installment: Installment, remind_before: timedelta) -> datetime:
    """The reminder's moment: `remind_before` before the start of the due date (a send at
    a moment outside the window waits for its opening)."""
    return datetime.combine(installment.due, time.min) - remind_before


def reminder_due(plan: Plan, now: datetime, remind_before: timedelta) -> Installment | None:
    """The installment whose reminder is due now: not paid, not reminded, its reminder's
    moment come and its due date not yet ended."""
    for i in plan.installments:
        if i.left > 0 and not i.reminded and remind_at(i, remind_before) <= now < i.late_from():
            return i
    return None


def new_plan(
    number: int,
    dues: Sequence[tuple[date, date | None, str | None]],
    amounts: Sequence[Decimal],
    every: Frequency,
    accepted_at: datetime,
    accepted_local: datetime,
    remind_before: timedelta,
) -> Plan:
    """A plan of these due dates (each with the date it was moved from, and why) and
    amounts. A reminder whose moment passed before the plan was chosen is let go: the
    confirmation says that date."""
    rows = [
        Installment(number=n, due=due, amount=amount, moved_from=moved, moved_for=why)
        for n, ((due, moved, why), amount) in enumerate(zip(dues, amounts, strict=True), start=1)
    ]
    rows = [
        r.model_copy(update={"reminded": remind_at(r, remind_before) <= accepted_local})
        for r in rows
    ]
    return Plan(number=number, installments=rows, every=every, accepted_at=accepted_at)


def take_payment(plan: Plan, payment_id: str, amount: Decimal, day: date) -> Plan:
    """`amount` of a payment paid into the plan: the oldest open installment first, the
    rest carried forward to the next, and beyond the last kept as `carried`."""
    rows, allocations, rest = list(plan.installments), list(plan.allocations), amount
    for index, row in enumerate(rows):
        if rest <= 0:
            break
        part = min(row.left, rest)
        if part <= 0:
            continue
        paid = row.paid + part
        rows[index] = row.model_copy(
            update={"paid": paid, "paid_on": day if paid >= row.amount else row.paid_on}
        )
        allocations.append(Allocation(payment_id=payment_id, number=row.number, amount=part))
        rest -= part
    carried = plan.carried
    if rest > 0:
        allocations.append(Allocation(payment_id=payment_id, number=0, amount=rest))
        carried += rest
    return plan.model_copy(
        update={"installments": rows, "allocations": allocations, "carried": carried}
    )


def reverse_payment(plan: Plan, payment_id: str, amount: Decimal, now: datetime) -> Plan:
    """`amount` more of a payment went back: what it paid is taken back, the last of it
    first (what was carried, then the latest installment), and those installments reopen.
    One reopened after its due date gets its grace again from `now`."""
    rows = {r.number: r for r in plan.installments}
    allocations, carried, rest = list(plan.allocations), plan.carried, amount
    for index in range(len(allocations) - 1, -1, -1):
        allocation = allocations[index]
        if rest <= 0:
            break
        if allocation.payment_id != payment_id:
            continue
        back = min(allocation.amount, rest)
        rest -= back
        left = allocation.amount - back
        if left > 0:
            allocations[index] = allocation.model_copy(update={"amount": left})
        else:
            allocations.pop(index)
        if allocation.number == 0:
            carried -= back
            continue
        row = rows[allocation.number]
        late = now >= row.late_from()
        rows[row.number] = row.model_copy(
            update={
                "paid": row.paid - back,
                "paid_on": None,
                "grace_from": now if late else row.grace_from,
            }
        )
    return plan.model_copy(
        update={
            "installments": [rows[r.number] for r in plan.installments],
            "allocations": allocations,
            "carried": carried,
        }
    )
