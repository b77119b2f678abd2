"""A sample account that templates and expressions are checked against.

Every optional field is filled, so a template that uses any field the
spec names renders; `attributes` answers any key with a placeholder, since
designers put their own data there.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from babel.localedata import locale_identifiers

from rapport.channels import NAMES
from rapport.language.account import Account, Customer, History

_LANGUAGES = frozenset(code for code in locale_identifiers() if "_" not in code)


class AnyAttributes(dict[str, Any]):
    """Attributes of the sample account: every key exists."""

    def __missing__(self, key: str) -> str:
        return f"<attributes.{key}>"


def is_language(code: str) -> bool:
    """Whether `code` names a language (`es`, `fr`, `pt`) as template files use them."""
    return code.isascii() and code.isalpha() and code.islower() and code in _LANGUAGES


def sample_account(language: str | None = None) -> Account:
    """The sample customer; with `language`, one whose locale is in that language."""
    account = Account(
        account_id="SAMPLE-1",
        customer=Customer(
            first_name="Sam",
            last_name="Sample",
            email="sam@example.com",
            phone="+15555550100",
            timezone="America/New_York",
            locale=language or "en-US",
        ),
        balance=Decimal("182.40"),
        currency="USD",
        minimum_due=Decimal("45.00"),
        due_date=date(2028, 2, 20),
        days_past_due=9,
        history=History(
            tenure_months=24, missed_payments_12m=1, payment_method_updated_days_ago=30
        ),
        consent=dict.fromkeys(NAMES, True),
    )
    return account
