"""Payment-plan options, in Decimal cents: the last installment absorbs the remainder."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from pydantic import BaseModel, ConfigDict

from rapport.language.types import Money

CENT = Decimal("0.01")


class PlanOption(BaseModel):
    model_config = ConfigDict(frozen=True)

    installments: int
    amount: Money
    last_amount: Money

    @property
    def total(self) -> Decimal:
        return self.amount * (self.installments - 1) + self.last_amount


def plan_option(balance: Decimal, installments: int) -> PlanOption:
    amount = (balance / installments).quantize(CENT, rounding=ROUND_DOWN)
    last = balance - amount * (installments - 1)
    return PlanOption(installments=installments, amount=amount, last_amount=last)


def plan_options(balance: Decimal, installments: list[int], minimum: Decimal) -> list[PlanOption]:
    """Options whose every installment is at least `minimum`, fewest installments first."""
    options = (plan_option(balance, n) for n in sorted(set(installments)))
    return [o for o in options if o.amount >= minimum and o.last_amount >= minimum]


def plan_rejection(
    requested: int,
    offered: list[int] | None,
    balance: Decimal,
    minimum: Decimal,
) -> str | None:
    """Why `requested` installments cannot be accepted, or None when they can."""
    if offered is None:
        return "no payment plan has been offered to this account yet"
    if requested not in offered:
        choices = ", ".join(str(n) for n in offered) or "none"
        return f"{requested} installments were not offered; offered: {choices}"
    option = plan_option(balance, requested)
    if option.amount < minimum or option.last_amount < minimum:
        return (
            f"{requested} installments of {option.amount} would be below the minimum "
            f"installment of {minimum}"
        )
    return None
