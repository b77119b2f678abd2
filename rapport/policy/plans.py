"""Payment plans, pure: the options (equal installments in the currency's minor units,
the remainder on the last, from the one money module), which a customer may choose, and
a plan's due dates (weekly, fortnightly or monthly, moved off the days the account's
rule packs close). The running plan's ledger is `installments`."""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from rapport.compliance.calendars import holiday
from rapport.compliance.packs import RulePack
from rapport.language.models import Frequency
from rapport.language.types import WEEKDAYS, Money
from rapport.money.split import installments as split
from rapport.money.split import installments_in_cents


class PlanOption(BaseModel):
    model_config = ConfigDict(frozen=True)

    installments: int
    amount: Money
    last_amount: Money

    @property
    def total(self) -> Decimal:
        return self.amount * (self.installments - 1) + self.last_amount


def plan_option(balance: Decimal, installments: int, currency: str | None = None) -> PlanOption:
    """`balance` in `installments`; `currency` None is the cents-for-every-currency rule of
    plans offered before the money module (their journeys replay with it)."""
    parts = (
        installments_in_cents(balance, installments)
        if currency is None
        else split(balance, installments, currency)
    )
    return PlanOption(installments=installments, amount=parts[0], last_amount=parts[-1])


def plan_options(
    balance: Decimal, installments: list[int], minimum: Decimal, currency: str | None = None
) -> list[PlanOption]:
    """Options whose every installment is at least `minimum`, fewest installments first."""
    options = (plan_option(balance, n, currency) for n in sorted(set(installments)))
    return [o for o in options if o.amount >= minimum and o.last_amount >= minimum]


def plan_rejection(
    requested: int,
    offered: list[int] | None,
    balance: Decimal,
    minimum: Decimal,
    currency: str | None = None,
) -> str | None:
    """Why `requested` installments cannot be accepted, or None when they can."""
    if offered is None:
        return "no payment plan has been offered to this account yet"
    if requested not in offered:
        choices = ", ".join(str(n) for n in offered) or "none"
        return f"{requested} installments were not offered; offered: {choices}"
    option = plan_option(balance, requested, currency)
    if option.amount < minimum or option.last_amount < minimum:
        return (
            f"{requested} installments of {option.amount} would be below the minimum "
            f"installment of {minimum}"
        )
    return None


# --- a plan's due dates ----------------------------------------------------------------

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MAX_MOVE = 14  # days a due date may move; a pack closing longer than that is not met


def due_dates(first: date, count: int, every: Frequency) -> list[date]:
    """`count` due dates from `first`: 7 or 14 days apart, or a calendar month (the same
    day of each month, or its last day when the month is shorter: 31 Jan, 28 Feb, 31 Mar)."""
    if every == "weekly":
        return [first + timedelta(days=7 * n) for n in range(count)]
    if every == "fortnightly":
        return [first + timedelta(days=14 * n) for n in range(count)]
    return [_months_after(first, n) for n in range(count)]


def _months_after(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, monthrange(year, month)[1]))


def closed_reason(
    day: date, packs: Sequence[RulePack], channels: Sequence[str], region: str | None = None
) -> str | None:
    """Why the account's rule packs forbid contact on `day` on any of `channels` (a
    weekday or a public holiday a `closed` rule names), or None."""
    for pack in packs:
        for rule in pack.rules:
            closed = rule.closed
            if closed is None or not rule.governs() & set(channels):
                continue
            if WEEKDAYS[day.weekday()] in closed.days:
                return f"{WEEKDAY_NAMES[day.weekday()]}s are closed ({pack.pack}/{rule.id})"
            if closed.holidays:
                name = holiday(day, pack.applies_to.country, region or pack.applies_to.region)
                if name is not None:
                    return f"{name} is a public holiday ({pack.pack}/{rule.id})"
    return None


Moved = tuple[date, date | None, str | None]  # the due date, the date it was moved from, why


def moved_off(dates: Sequence[date], closed: Callable[[date], str | None]) -> list[Moved]:
    """Each due date moved forward off the days `closed` names (never earlier: a customer
    is never asked to pay sooner than agreed), each still after the one before."""
    moved: list[Moved] = []
    previous: date | None = None
    for planned in dates:
        day = planned if previous is None or planned > previous else previous + timedelta(days=1)
        why = closed(day)
        first_why = why
        for _ in range(MAX_MOVE):
            if why is None:
                break
            day += timedelta(days=1)
            why = closed(day)
        if day == planned:
            moved.append((day, None, None))
        else:
            moved.append((day, planned, first_why or "after the date before it"))
        previous = day
    return moved


# --- which plans a customer may choose -------------------------------------------------


def plan_choice_rejection(
    requested: int,
    every: str,
    installments: Sequence[int],
    frequencies: Sequence[str],
    balance: Decimal,
    minimum: Decimal,
    currency: str,
) -> str | None:
    """Why `requested` installments `every` ... cannot be chosen now, or None."""
    if every not in frequencies:
        return f"{every} installments are not offered; offered: {', '.join(frequencies)}"
    return plan_rejection(requested, list(installments), balance, minimum, currency)
