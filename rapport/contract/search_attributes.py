"""The search attributes operators filter journeys by in the Temporal UI and `journey list`.

They are stored unencrypted, so they hold identifiers and numbers, never a name,
an address or a phone number (a test fails if one would). `BalanceDue` is a float
because visibility can only compare numbers that way; money itself stays Decimal
everywhere else.
"""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from rapport.language.account import Account

ACCOUNT_ID = SearchAttributeKey.for_keyword("AccountId")
JOURNEY_ID = SearchAttributeKey.for_keyword("JourneyId")
JOURNEY_VERSION = SearchAttributeKey.for_int("JourneyVersion")
JOURNEY_STEP = SearchAttributeKey.for_keyword("JourneyStep")
SEGMENT = SearchAttributeKey.for_keyword("Segment")
DAYS_PAST_DUE = SearchAttributeKey.for_int("DaysPastDue")
BALANCE_DUE = SearchAttributeKey.for_float("BalanceDue")
OUTCOME = SearchAttributeKey.for_keyword("Outcome")

ALL: tuple[SearchAttributeKey, ...] = (  # type: ignore[type-arg]
    ACCOUNT_ID,
    JOURNEY_ID,
    JOURNEY_VERSION,
    JOURNEY_STEP,
    SEGMENT,
    DAYS_PAST_DUE,
    BALANCE_DUE,
    OUTCOME,
)


def at_start(account: Account) -> dict[SearchAttributeKey[Any], Any]:
    """What a journey is found by from its start: set with the start by our clients, by
    the workflow itself when another starter did not (`workflows/intake.py`)."""
    return {
        ACCOUNT_ID: account.account_id,
        BALANCE_DUE: float(account.balance),
        DAYS_PAST_DUE: account.days_past_due,
        OUTCOME: "running",
    }


def starting(account: Account) -> TypedSearchAttributes:
    """`at_start` as a start request carries it (no history event to write them)."""
    return TypedSearchAttributes(
        [SearchAttributePair(key, value) for key, value in at_start(account).items()]
    )
