"""`GET /openapi.json`: the HTTP API described from the very models it validates with
(the workflow contract's), so it and `schemas/` cannot disagree (a test compares them)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import JsonSchemaMode

from rapport.intake.models import (
    START,
    STATUS,
    UPDATE,
    EventAnswer,
    EventRequest,
    PaymentAnswer,
    PaymentRequest,
    ProblemDocument,
    StartAnswer,
    UpdateAnswer,
)

VERSION = "1"
REF = "#/components/schemas/{model}"
PROBLEM = "application/problem+json"
ACCOUNT_ID = {
    "name": "account_id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"},
    "description": "the billing system's account id",
    "example": "A-1001",
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": True,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"},
    "description": "your id for this request (printable ASCII); a retry with the same key "
    "and body gets the first answer for 24 hours; the same key with another request, 422",
}
# One valid request for each operation (docs/billing-integration.md's account): shown to
# integrators, and sent first by API fuzzers (schemathesis's examples phase), so each
# operation's own logic is reached, not only its validation.
EXAMPLES: dict[str, Any] = {
    "JourneyStart": {
        "account": {
            "account_id": "A-1001",
            "customer": {
                "first_name": "Dana",
                "email": "dana@example.com",
                "phone": "+15555550101",
                "timezone": "America/Los_Angeles",
            },
            "balance": "182.40",
            "currency": "USD",
            "days_past_due": 9,
            "consent": {"email": True, "sms": True},
        }
    },
    "AccountUpdated": {"days_past_due": 12},
    "PaymentRequest": {"amount": "20.00", "currency": "USD", "payment_id": "PAY-77812"},
    "Event": {"type": "opt_out", "channel": "sms"},
}
# Problems every operation may answer, with what they mean.
COMMON = {
    "401": "no API key, or one that is unknown or revoked",
    "413": "the body is larger than the API takes",
    "429": "too many requests for this API key this minute, or too many without a valid "
    "key from this address (see Retry-After)",
    "503": "Temporal, the store or the journey did not answer in time (see Retry-After): try again",
}
WRITES = {
    "400": "the body is not JSON, or the Idempotency-Key header is missing",
    "415": "the body was compressed (Content-Encoding): send the JSON as it is",
    "409": "the first request with this Idempotency-Key is still running; or the journey ended",
    "422": "a field is not valid (`field` names it, `errors` lists every one), or the "
    "Idempotency-Key was used for another request",
}


@lru_cache(maxsize=1)
def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document (built once per process)."""
    named: list[tuple[str, JsonSchemaMode, Any]] = [
        ("JourneyStart", "validation", START),
        ("StartAnswer", "serialization", StartAnswer),
        ("JourneyStatus", "serialization", STATUS),
        ("AccountUpdated", "validation", UPDATE),
        ("UpdateAnswer", "serialization", UpdateAnswer),
        ("PaymentRequest", "validation", PaymentRequest),
        ("PaymentAnswer", "serialization", PaymentAnswer),
        ("Event", "validation", EventRequest),
        ("EventAnswer", "serialization", EventAnswer),
        ("Problem", "serialization", ProblemDocument),
    ]
    refs, definitions = TypeAdapter.json_schemas(
        [(name, mode, TypeAdapter(model)) for name, mode, model in named],
        ref_template=REF,
    )
    schemas = dict(definitions.get("$defs", {}))
    for (name, _mode), schema in refs.items():
        if "$ref" not in schema or schema["$ref"] != REF.format(model=name):
            schemas[name] = schema
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Rapport intake API",
            "version": VERSION,
            "description": "Start journeys, read their status, update accounts, record "
            "payments and send events over HTTP (docs/billing-integration.md). Every "
            "refusal is an RFC 9457 problem document naming the field at fault.",
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"apiKey": []}],
        "paths": {
            "/v1/journeys": {
                "post": _operation(
                    "startJourney",
                    "Start the account's journey, or return the running one",
                    "JourneyStart",
                    {"201": ("the journey started", "StartAnswer")},
                    {"200": ("a journey was running: returned, not changed", "StartAnswer")},
                    write=True,
                    path=False,
                )
            },
            "/v1/accounts/{account_id}": {
                "get": _operation(
                    "getStatus",
                    "The status of the account's journey (the workflow's status query)",
                    None,
                    {"200": ("the journey's status", "JourneyStatus")},
                    {"404": ("no journey for the account", "Problem")},
                ),
                "patch": _operation(
                    "updateAccount",
                    "Tell the running journey what changed (account_updated)",
                    "AccountUpdated",
                    {"200": ("the journey was told", "UpdateAnswer")},
                    {"404": ("no running journey for the account", "Problem")},
                    write=True,
                ),
            },
            "/v1/accounts/{account_id}/payments": {
                "post": _operation(
                    "recordPayment",
                    "Record a payment: the ledger first, then the running journey",
                    "PaymentRequest",
                    {"201": ("recorded (applied: a running journey took it)", "PaymentAnswer")},
                    {},
                    write=True,
                )
            },
            "/v1/accounts/{account_id}/events": {
                "post": _operation(
                    "sendEvent",
                    "Send any event: a signal's payload with its type, or accept_plan; an "
                    "opt-out or cease is kept in the consent record first",
                    "Event",
                    {"202": ("taken", "EventAnswer")},
                    {"404": ("no running journey for the account", "Problem")},
                    write=True,
                )
            },
        },
    }


def _operation(
    operation_id: str,
    summary: str,
    request: str | None,
    success: dict[str, tuple[str, str]],
    more: dict[str, tuple[str, str]],
    write: bool = False,
    path: bool = True,
) -> dict[str, Any]:
    parameters = ([ACCOUNT_ID] if path else []) + ([IDEMPOTENCY_KEY] if write else [])
    responses: dict[str, Any] = {
        status: _response(description, name, "application/json")
        for status, (description, name) in {**success, **more}.items()
        if name != "Problem"
    }
    problems = {**COMMON, **(WRITES if write else {})}
    if path:  # a malformed account id
        problems["422"] = WRITES["422"]
    problems |= {
        status: description for status, (description, name) in more.items() if name == "Problem"
    }
    for status, description in sorted(problems.items()):
        responses.setdefault(status, _response(description, "Problem", PROBLEM))
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "parameters": parameters,
        "responses": responses,
    }
    if request is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": REF.format(model=request)},
                    "example": EXAMPLES[request],
                }
            },
        }
    return operation


def _response(description: str, model: str, media: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {media: {"schema": {"$ref": REF.format(model=model)}}},
    }
