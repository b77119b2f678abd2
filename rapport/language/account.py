"""The account a billing system hands over (docs/billing-integration.md describes it)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import available_timezones

from babel.localedata import locale_identifiers
from babel.numbers import list_currencies
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from rapport.channels import CHANNELS
from rapport.language.types import Channel, Money

# Read once at import, outside Temporal's sandbox: accounts are validated inside
# workflows too (when their input is decoded), where file access is not allowed.
_ZONES = frozenset(available_timezones())
_LOCALES = frozenset(locale_identifiers())
_CURRENCIES = frozenset(list_currencies())


def _timezone(name: str) -> str:
    if name not in _ZONES:
        raise ValueError(f"{name!r} is not an IANA time zone such as America/New_York")
    return name


def _locale(tag: str) -> str:
    if tag.replace("-", "_") not in _LOCALES:
        raise ValueError(f"{tag!r} is not a locale such as en-US or fr-FR")
    return tag


def _currency(code: str) -> str:
    if code not in _CURRENCIES:
        raise ValueError(f"{code!r} is not an ISO 4217 currency code such as USD or EUR")
    return code


def _positive(amount: Decimal) -> Decimal:
    if amount <= 0:
        raise ValueError("must be greater than zero")
    return amount


def _not_negative(amount: Decimal) -> Decimal:
    if amount < 0:
        raise ValueError("must not be negative")
    return amount


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Customer(_Strict):
    first_name: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    last_name: str = ""
    email: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    phone: Annotated[str, StringConstraints(pattern=r"^\+[1-9]\d{6,14}$")] | None = None
    timezone: Annotated[str, AfterValidator(_timezone)]
    locale: Annotated[str, AfterValidator(_locale)] = "en-US"


class History(_Strict):
    tenure_months: Annotated[int, Field(ge=0)] = 0
    missed_payments_12m: Annotated[int, Field(ge=0)] = 0
    payment_method_updated_days_ago: Annotated[int, Field(ge=0)] | None = None
    hardship: bool = False


class Account(_Strict):
    account_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
    customer: Customer
    balance: Annotated[Money, AfterValidator(_positive)]
    currency: Annotated[str, AfterValidator(_currency)]
    minimum_due: Annotated[Money, AfterValidator(_not_negative)] | None = None
    due_date: date | None = None
    days_past_due: Annotated[int, Field(ge=0)]
    history: History = History()
    consent: dict[Channel, bool] = Field(default_factory=dict)
    attributes: dict[str, Any] = Field(default_factory=dict)

    def address_for(self, channel: Channel) -> str | None:
        """The customer's address on a channel (where its spec says it is); None when we
        have none."""
        value: Any = self
        for part in CHANNELS[channel].address:
            value = value.get(part) if isinstance(value, dict) else getattr(value, part, None)
            if value is None:
                return None
        return str(value) if value else None
