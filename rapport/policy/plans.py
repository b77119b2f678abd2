"""Payment-plan options: equal installments in the currency's minor units (the
remainder on the last), from the one money module."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from rapport.language.types import Money
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
