"""A payload that reached a production worker in plain text, and what the journey says.

In production with encryption keys, customer data must never sit in Temporal's history
in clear. A start or signal sent without the codec (another language's SDK, the
`temporal` CLI) reaches the workflow as `PlainText` (the worker's codec marks it, its
converter wraps it); the journey fails at once with `refusal`, which says how to send it
encrypted and how to delete what was sent, so the integrator learns on day one. The
failure's message is kept readable without the codec (it holds no customer data).

A start or signal the worker cannot read at all (JSON nested past the parser's limit,
bytes that are not UTF-8, an encoding no converter knows) reaches the workflow as
`Unreadable`, saying why: the journey fails (a start) or refuses the signal where
`status.refused` shows it, instead of failing a workflow task forever."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PLAIN_TEXT_REFUSED = "PlainTextRefused"  # the failure type of such a journey
INVALID_INPUT = "InvalidJourneyInput"  # a start the journey cannot take (bad or unreadable)
# Failures whose message holds no customer data: kept readable in history, so a client
# without the codec learns why (every other failure's message is encrypted).
# `DefinitionNotLoaded`: a query met a worker still fetching a definition (its hash only):
# `journey migrate` reads it, keys or not, and asks again.
DEFINITION_NOT_LOADED = "DefinitionNotLoaded"
READABLE_FAILURES = frozenset(
    {PLAIN_TEXT_REFUSED, INVALID_INPUT, "UnknownName", DEFINITION_NOT_LOADED}
)


@dataclass(frozen=True)
class PlainText:
    """What arrived in plain text, decoded as JSON (None when it could not be)."""

    value: Any
    encoding: str


@dataclass(frozen=True)
class Unreadable:
    """A payload from outside that could not be decoded, and why (never its content); the
    payment id it named, when it could be read (sent with too many arguments)."""

    problem: str
    payment_id: str | None = None


def unreadable(what: str, encoding: str, why: str) -> str:
    """Why `what` (the journey's input, a signal's payload) cannot be read."""
    return (
        f"{what} cannot be read as JSON ({encoding[:40]}): {why[:300]}; send one JSON "
        "object, nested at most 200 levels, in UTF-8 (docs/billing-integration.md)"
    )


def refusal(what: str, workflow_id: str, run_id: str) -> str:
    """Why the journey failed, how to send it right, and how to delete what was sent."""
    return (
        f"This journey's {what} arrived in plain text, but this Rapport runs in production "
        "with encryption keys: customer data must never sit in Temporal's history in "
        "clear, so the journey was failed. Send payloads encrypted with Rapport's codec "
        "(POST /codec/encode on Rapport's web app with the codec token, or the same "
        "AES-256-GCM format in your SDK's payload codec: docs/billing-integration.md, "
        "'Encryption'), or call Rapport's HTTP API (POST /v1/journeys), which encrypts "
        "for you. What was sent stays in this run's history in clear until you delete "
        f"it: temporal workflow delete --workflow-id {workflow_id} --run-id {run_id} ; "
        "then start the journey again."
    )
