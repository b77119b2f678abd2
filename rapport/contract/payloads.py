"""What the signals and the update carry.

Amounts are bounded everywhere (a decimal string > 0, at most 12 digits before the
point and the currency's minor units after it): what would overflow a search
attribute or a plan's arithmetic is refused at the door.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints, model_validator

from rapport.contract.records import Payload
from rapport.language.account import (
    MAX_DAYS,
    Account,
    Address,
    Attributes,
    Email,
    FirstName,
    History,
    Locale,
    Name,
    Phone,
    Timezone,
)
from rapport.language.types import (
    CURRENCY_SCHEMA,
    NOT_NEGATIVE_AMOUNT,
    POSITIVE_AMOUNT,
    Channel,
    Money,
)


def positive(amount: Decimal) -> Decimal:
    if amount <= 0:
        raise ValueError("a payment must be greater than zero")
    return amount


def _not_negative(amount: Decimal) -> Decimal:
    if amount < 0:
        raise ValueError("must not be negative")
    return amount


PaymentId = Annotated[
    str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")
]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$"), CURRENCY_SCHEMA]


class PaymentReceived(Payload):
    amount: Annotated[Money, AfterValidator(positive), POSITIVE_AMOUNT]
    payment_id: PaymentId = Field(
        description="the payment's id at the billing system or provider (1-128 printable "
        "characters); a repeated id for the account changes nothing"
    )
    paid_at: AwareDatetime | None = None
    currency: Currency | None = Field(
        None, description="when given, must be the account's currency"
    )


class PaymentReversed(Payload):
    """Money of a payment the journey took went back: a refund, a dispute, or a bank
    debit that failed after all. `amount` is how much of the payment has gone back in
    all, so a second partial refund sends the new total and a repeat changes nothing."""

    payment_id: PaymentId = Field(description="the payment_id of the payment received")
    amount: Annotated[Money, AfterValidator(positive)] = Field(
        description="how much of the payment has gone back in all (not just this time)"
    )
    currency: Currency | None = Field(
        None, description="when given, must be the account's currency"
    )
    reason: Literal["refund", "dispute", "failed"]


class PaymentDetailsUpdated(Payload):
    """The customer saved a new card or bank account at the provider; `reference` is the
    provider's id for it (never card data)."""

    reference: Annotated[
        str, StringConstraints(min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$")
    ] = Field(description="the payment method's reference at the provider or at billing")


class OptOut(Payload):
    channel: Channel


class Engagement(Payload):
    kind: Literal["opened", "clicked", "replied"]


class Conversation(Payload):
    """An agent talked with the customer by telephone about the debt (Regulation F
    1006.14(b)(2)(i)(B): no call for 7 days after)."""

    talked_at: AwareDatetime | None = Field(
        None, description="when the conversation took place (default: when it is received)"
    )
    reason: Annotated[str, StringConstraints(max_length=500)] = ""


class Note(Payload):
    """The payload of signals that need none (`cease_communication`, `pause`, ...)."""

    reason: Annotated[str, StringConstraints(max_length=500)] = ""


class CallbackRequest(Payload):
    """The customer asks to be called (the portal offers times inside the contact
    window): outreach pauses and a person is asked to call."""

    at: AwareDatetime = Field(description="when the customer would like the call")
    reason: Annotated[str, StringConstraints(max_length=500)] = ""


class AcceptPlan(Payload):
    installments: Annotated[int, Field(ge=1, le=120)]
    every: Literal["weekly", "fortnightly", "monthly"] | None = Field(
        None,
        description="how often installments fall due, among those the journey allows "
        "(default: the first it lists; monthly for an offer without plan terms)",
    )


class CustomerUpdate(Payload):
    first_name: FirstName | None = None
    last_name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    timezone: Timezone | None = None
    locale: Locale | None = None
    address: Address | None = Field(
        None, description="where the customer lives now: the rule packs follow it"
    )


class AccountUpdated(Payload):
    """What changed at the billing system: any of these fields, validated as the account.
    `balance` is the balance now (zero or less: paid); a field left out, or null, is
    unchanged."""

    balance: Annotated[Money, AfterValidator(_not_negative), NOT_NEGATIVE_AMOUNT] | None = None
    minimum_due: Annotated[Money, AfterValidator(_not_negative), NOT_NEGATIVE_AMOUNT] | None = None
    due_date: date | None = None
    days_past_due: Annotated[int, Field(ge=0, le=MAX_DAYS)] | None = None
    customer: CustomerUpdate | None = None
    consent: dict[Channel, bool] | None = None
    history: History | None = None
    attributes: Attributes | None = None

    @model_validator(mode="after")
    def _something(self) -> AccountUpdated:
        if not self.model_dump(exclude_none=True):
            raise ValueError("an update names at least one field")
        return self

    def applied_to(self, account: Account) -> Account:
        """The account with this update: validated as a whole, so a bad phone number or
        time zone is refused like at the start."""
        data = account.model_dump(mode="json")
        changes = self.model_dump(mode="json", exclude_none=True, exclude={"balance"})
        data["customer"].update(changes.pop("customer", {}))
        data.update(changes)
        return Account.model_validate(data)


class MigrateTo(Payload):
    """An operator moves a running journey to another version of its definition
    (`journey migrate`): at its next step boundary, or where it rests in a wait."""

    version: Annotated[int, Field(ge=1, le=1_000_000)] = Field(
        description="the version of the journey's own definition to move to"
    )
    hash: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{20,64}$")] | None = Field(
        None,
        description="the content hash of that version (`journey migrate` sends the one it "
        "resolved); default: the one version of that number the workers know",
    )
    reason: Annotated[str, StringConstraints(max_length=500)] = ""
