"""What a template sees: the render context of one message.

Shared by `journey preview`, the validator and the `send_message` activity,
so a designer previews exactly what a customer will get. The names are the
language's: `account`, `customer`, `balance`, `minimum_due`, `links`, `plan`,
`opt_out`, `payment` (in `on_paid`, `on_partial_payment` and `on_plan.thanks`: the
payment thanked for, with its `reference`, `amount` and `date`; None in any other
message), and `journey` (the journey's facts, as expressions see them, `amount_paid`
formatted like `balance`). In an offer `plan` is the offer (`options`, `first_due`); in
an `on_plan` message it is the plan the customer is on (`installments`, `next`, `count`,
`every`, `total`, `left`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from rapport.channels import CHANNELS
from rapport.language.account import Account
from rapport.language.formatting import format_day, format_money
from rapport.language.templates import FieldPath

# The customer's self-service links; `opt_out` is not a template name of its own: the
# channel's opt-out line (`{{ opt_out }}`) carries it.
LINK_NAMES = (
    "pay_now",
    "partial_payment",
    "update_payment_method",
    "plan",
    "contact_us",
    "opt_out",
)


class InstallmentOption(Protocol):
    @property
    def installments(self) -> int: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def last_amount(self) -> Decimal: ...
    @property
    def total(self) -> Decimal: ...


class OfferedPlan(Protocol):
    """A plan offer as the journey made it (`rapport.contract.PlanOffered`)."""

    @property
    def options(self) -> Sequence[InstallmentOption]: ...
    @property
    def first_due(self) -> date: ...


class ScheduledInstallment(Protocol):
    @property
    def number(self) -> int: ...
    @property
    def due(self) -> date: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def paid(self) -> Decimal: ...
    @property
    def left(self) -> Decimal: ...
    @property
    def state(self) -> str: ...


class ScheduledPlan(Protocol):
    """The plan a customer is on, as a message shows it (`rapport.contract.PlanView`)."""

    @property
    def installments(self) -> Sequence[ScheduledInstallment]: ...
    @property
    def every(self) -> str: ...
    @property
    def next_number(self) -> int | None: ...


class PaidPayment(Protocol):
    """The payment a thank-you is for (`rapport.contract.Receipt`)."""

    @property
    def reference(self) -> str: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def day(self) -> date: ...


# What every message needs of the account besides what its template reads (the account's
# id travels beside the fields, in the send itself).
ESSENTIAL_FIELDS: frozenset[FieldPath] = frozenset(
    {("currency",), ("minimum_due",), ("customer", "locale")}
)


class _View(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CustomerView(_View):
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    timezone: str | None = None
    locale: str = "en-US"


class HistoryView(_View):
    tenure_months: int | None = None
    missed_payments_12m: int | None = None
    payment_method_updated_days_ago: int | None = None
    hardship: bool | None = None


class AccountView(_View):
    """Part of an account, typed as the account types it: what a send carries and its
    template reads (`Account`'s fields, any of them absent)."""

    account_id: str
    currency: str
    customer: CustomerView = Field(default_factory=CustomerView)
    balance: Decimal | None = None
    minimum_due: Decimal | None = None
    due_date: date | None = None
    days_past_due: int | None = None
    history: HistoryView | None = None
    consent: dict[str, bool] | None = None
    attributes: dict[str, Any] | None = None

    def template_view(self) -> dict[str, Any]:
        return self.model_dump(mode="python", exclude_unset=True) | {
            "customer": self.customer.model_dump(mode="python", exclude_unset=True)
        }


def message_context(
    account: Account | AccountView,
    balance: Decimal,
    channel: str,
    links: Mapping[str, str],
    plan: OfferedPlan | None = None,
    payment: PaidPayment | None = None,
    facts: Mapping[str, Any] | None = None,
    schedule: ScheduledPlan | None = None,
) -> dict[str, Any]:
    locale, currency = account.customer.locale, account.currency
    minimum = min(account.minimum_due or balance, balance)

    def money(amount: Decimal) -> str:
        return _for_channel(format_money(amount, currency, locale), channel)

    def day(value: date) -> str:
        return _for_channel(format_day(value, locale), channel)

    account_view = (
        account.model_dump(mode="python")
        if isinstance(account, Account)
        else account.template_view()
    )
    account_view["balance"] = balance
    context: dict[str, Any] = {
        "account": account_view,
        "customer": account_view["customer"],
        "balance": money(balance),
        "minimum_due": money(minimum),
        "links": {k: v for k, v in links.items() if k != "opt_out"},
        "opt_out": CHANNELS[channel].opt_out_text(links, locale),
        "payment": None,
    }
    if payment is not None:
        context["payment"] = {
            "reference": payment.reference,
            "amount": money(payment.amount),
            "date": day(payment.day),
        }
    if facts is not None:
        paid = Decimal(str(facts.get("amount_paid") or 0))
        context["journey"] = {**facts, "amount_paid": money(paid)}
    if plan is not None:
        context["plan"] = {
            "options": [
                {
                    "installments": o.installments,
                    "amount": money(o.amount),
                    "last_amount": money(o.last_amount),
                    "total": money(o.total),
                    "first_due": day(plan.first_due),
                }
                for o in plan.options
            ],
            "first_due": day(plan.first_due),
        }
    if schedule is not None:
        context["plan"] = _schedule_view(schedule, money, day)
    return context


def _schedule_view(
    schedule: ScheduledPlan, money: Callable[[Decimal], str], day: Callable[[date], str]
) -> dict[str, Any]:
    """`plan` in an `on_plan` message: each installment (due date and amounts as the
    customer reads them, its state), the next one to pay, and the totals."""
    rows = [
        {
            "number": i.number,
            "due": day(i.due),
            "amount": money(i.amount),
            "paid": money(i.paid),
            "left": money(i.left),
            "state": i.state,
        }
        for i in schedule.installments
    ]
    following = next((r for r in rows if r["number"] == schedule.next_number), None)
    return {
        "installments": rows,
        "next": following,
        "count": len(rows),
        "every": schedule.every,
        "total": money(sum((i.amount for i in schedule.installments), Decimal(0))),
        "left": money(sum((i.left for i in schedule.installments), Decimal(0))),
    }


# The no-break spaces locales put in amounts and dates ("1 234,50 €" in French, "182,40 US$"
# in Spanish) are outside the GSM-7 alphabet: in a text, one of them makes the whole
# message UCS-2, billed at 70 characters a segment instead of 160. A plain space reads
# the same on a phone.
_NO_BREAK_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " "})


def _for_channel(text: str, channel: str) -> str:
    return text.translate(_NO_BREAK_SPACES) if channel == "sms" else text
