"""The account a billing system hands over (docs/billing-integration.md describes it)."""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import date
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import available_timezones

from babel.localedata import locale_identifiers
from babel.numbers import list_currencies
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    model_validator,
)

from rapport.channels import CHANNELS
from rapport.language.types import (
    CURRENCY_SCHEMA,
    NOT_NEGATIVE_AMOUNT,
    POSITIVE_AMOUNT,
    Channel,
    Country,
    Money,
    unless_trusted,
)
from rapport.money import too_precise

MAX_ATTRIBUTES_BYTES = 16_384  # the designer's own data: enough for any journey, never a file
MAX_DAYS = 36_500  # a hundred years

# Read once at import, outside Temporal's sandbox: accounts are validated inside
# workflows too (when their input is decoded), where file access is not allowed.
_ZONES = frozenset(available_timezones())
_LOCALES = frozenset(locale_identifiers())
_CURRENCIES = frozenset(list_currencies())
_REGION = re.compile(r"^[A-Z]{2}-[A-Z0-9]{1,3}$")


def _plain_text(value: str) -> str:
    """A name as it goes into a message or an email header: no line breaks or other
    control characters (a header split by one is an injection)."""
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in value):
        raise ValueError("must not contain line breaks or other control characters")
    return value


def _small_json(value: dict[str, Any]) -> dict[str, Any]:
    """At most MAX_ATTRIBUTES_BYTES of JSON, and text Temporal can carry: Python's `json`
    reads a lone surrogate (`"\\udfff"`, as JavaScript's JSON.stringify writes one) into
    a string no UTF-8 encoder takes; such attributes failed the HTTP API with a 500 and
    stopped `journey import` with a traceback (the worker's own parser refuses them)."""
    try:
        size = len(json.dumps(value, default=str))
        json.dumps(value, default=str, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise ValueError(
            "attributes must be valid Unicode text (a lone surrogate such as \\udfff is not)"
        ) from None
    except (TypeError, ValueError, RecursionError):
        raise ValueError("attributes must be plain JSON data") from None
    if size > MAX_ATTRIBUTES_BYTES:
        raise ValueError(f"attributes take {size} bytes as JSON; at most {MAX_ATTRIBUTES_BYTES}")
    return value


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


# The designer's own data, as JSON of at most MAX_ATTRIBUTES_BYTES (an update's too).
Attributes = Annotated[dict[str, Any], AfterValidator(unless_trusted(_small_json))]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


Name = Annotated[
    str, StringConstraints(max_length=100), AfterValidator(unless_trusted(_plain_text))
]


FirstName = Annotated[Name, StringConstraints(min_length=1)]
Email = Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Phone = Annotated[str, StringConstraints(pattern=r"^\+[1-9]\d{6,14}$")]  # E.164
Timezone = Annotated[str, AfterValidator(unless_trusted(_timezone))]
Locale = Annotated[str, AfterValidator(unless_trusted(_locale))]


class Address(_Strict):
    """Where the customer lives, as far as the law cares: the rule packs that apply
    (docs/compliance.md) follow the country and the region."""

    country: Country
    region: Annotated[str, StringConstraints(max_length=6)] | None = None
    """ISO 3166-2 subdivision code, e.g. US-MA, CA-ON (`MA` of a US address is US-MA)."""
    postal_code: Annotated[str, StringConstraints(max_length=16)] | None = None

    @model_validator(mode="after")
    def _region_in_country(self, info: ValidationInfo) -> Address:
        if self.region is None or (info.context and info.context.get("trusted")):
            return self
        region = self.region.upper()
        if "-" not in region:
            region = f"{self.country}-{region}"
        if not _REGION.match(region) or not region.startswith(f"{self.country}-"):
            raise ValueError(
                f"region {self.region!r} is not an ISO 3166-2 code of {self.country} "
                f"(for example {self.country}-XX)"
            )
        self.region = region
        return self


class Customer(_Strict):
    first_name: FirstName
    last_name: Name = ""
    email: Email | None = None
    phone: Phone | None = None
    timezone: Timezone
    locale: Locale = "en-US"
    address: Address | None = None


class History(_Strict):
    tenure_months: Annotated[int, Field(ge=0, le=12_000)] = 0
    missed_payments_12m: Annotated[int, Field(ge=0, le=12)] = 0
    payment_method_updated_days_ago: Annotated[int, Field(ge=0, le=MAX_DAYS)] | None = None
    hardship: bool = False


class Account(_Strict):
    account_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]
    customer: Customer
    balance: Annotated[Money, AfterValidator(unless_trusted(_positive)), POSITIVE_AMOUNT]
    currency: Annotated[str, AfterValidator(unless_trusted(_currency)), CURRENCY_SCHEMA]
    minimum_due: (
        Annotated[Money, AfterValidator(unless_trusted(_not_negative)), NOT_NEGATIVE_AMOUNT] | None
    ) = None
    due_date: date | None = None
    days_past_due: Annotated[int, Field(ge=0, le=MAX_DAYS)]
    history: History = History()
    consent: dict[Channel, bool] = Field(default_factory=dict)
    attributes: Attributes = Field(default_factory=dict)

    @model_validator(mode="after")
    def _in_minor_units(self, info: ValidationInfo) -> Account:
        """Money has at most the currency's minor units: 182.40 USD, 1500 JPY."""
        if info.context and info.context.get("trusted"):
            return self
        for name in ("balance", "minimum_due"):
            amount = getattr(self, name)
            problem = too_precise(amount, self.currency) if amount is not None else None
            if problem is not None:
                raise ValueError(f"{name} {problem}")
        return self

    def address_for(self, channel: Channel) -> str | None:
        """The customer's address on a channel (where its spec says it is); None when we
        have none."""
        value: Any = self
        for part in CHANNELS[channel].address:
            value = value.get(part) if isinstance(value, dict) else getattr(value, part, None)
            if value is None:
                return None
        return str(value) if value else None
