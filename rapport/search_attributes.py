"""The search attributes operators filter journeys by in the Temporal UI and `journey list`.

They are stored unencrypted, so they hold identifiers and numbers, never a
name, an address or a phone number. `BalanceDue` is a float because visibility
can only compare numbers that way; money itself stays Decimal everywhere else.
"""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError, RPCStatusCode

ACCOUNT_ID = SearchAttributeKey.for_keyword("AccountId")
JOURNEY_ID = SearchAttributeKey.for_keyword("JourneyId")
JOURNEY_VERSION = SearchAttributeKey.for_int("JourneyVersion")
JOURNEY_STEP = SearchAttributeKey.for_keyword("JourneyStep")
SEGMENT = SearchAttributeKey.for_keyword("Segment")
DAYS_PAST_DUE = SearchAttributeKey.for_int("DaysPastDue")
BALANCE_DUE = SearchAttributeKey.for_float("BalanceDue")
OUTCOME = SearchAttributeKey.for_keyword("Outcome")

ALL: tuple[SearchAttributeKey, ...] = (  # type: ignore[type-arg]
    ACCOUNT_ID, JOURNEY_ID, JOURNEY_VERSION, JOURNEY_STEP, SEGMENT, DAYS_PAST_DUE, BALANCE_DUE,
    OUTCOME,
)
_INDEXED = {
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "Int": IndexedValueType.INDEXED_VALUE_TYPE_INT,
    "Double": IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
}


def cli_type(key: SearchAttributeKey) -> str:  # type: ignore[type-arg]
    return str(key._metadata_type)


def create_command(namespace: str, missing: list[SearchAttributeKey]) -> str:  # type: ignore[type-arg]
    names = " ".join(f"--name {k.name} --type {cli_type(k)}" for k in missing)
    return f"temporal operator search-attribute create --namespace {namespace} {names}"


async def ensure_registered(client: Client, namespace: str) -> list[str]:
    """Register any missing attribute; return the problems (with the exact command to run)
    when this client may not register them itself, as on a hosted cluster."""
    try:
        existing = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace))
        known = set(existing.custom_attributes) | set(existing.system_attributes)
    except RPCError:
        known = set()  # the time-skipping test server cannot list, but can add
    missing = [key for key in ALL if key.name not in known]
    if not missing:
        return []
    refused: list[SearchAttributeKey] = []  # type: ignore[type-arg]
    reason = ""
    for key in missing:
        try:
            await client.operator_service.add_search_attributes(AddSearchAttributesRequest(
                namespace=namespace, search_attributes={key.name: _INDEXED[cli_type(key)]}))
        except RPCError as exc:
            if exc.status == RPCStatusCode.ALREADY_EXISTS or "already exists" in exc.message:
                continue
            refused.append(key)
            reason = exc.message
    if refused:
        return [f"search attributes missing and not registrable here ({reason}); run:\n  "
                + create_command(namespace, refused)]
    return []
