"""Our Prometheus counters, one row each: the names, labels and meaning that dashboards
and alerts rely on (docs/operating.md, "Metrics").

`count(COUNTER, label=value, ...)` adds to one. A process that serves metrics installs
where the counts go (`rapport.runtime.metrics`, on `RAPPORT_METRICS_PORT` or
`RAPPORT_WEB_METRICS_PORT`); anywhere else they go nowhere. Counted in activities, the
store, the consent book and the web app: never in workflow code, which is replayed
(import-linter forbids this module there). Label values come from small fixed sets (a
channel, a reason, a status), never from an id or anything a customer typed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Counter:
    name: str
    help: str
    labels: tuple[str, ...]


MESSAGES = Counter(
    "rapport_messages_total",
    "Send attempts by channel and what became of each: result sent (reason delivered, "
    "duplicate), skipped (paid, suppressed, rejected, called_off, undeliverable, "
    "cancelled), deferred (window_closed) or failed and retried (store, billing, "
    "provider, network, other)",
    ("channel", "result", "reason"),
)
HANDOFFS = Counter(
    "rapport_handoffs_total",
    "Handoffs to a person, by result (as rapport_messages_total)",
    ("result",),
)
STOPS = Counter(
    "rapport_stops_total",
    "Opt-outs and ceases kept in the consent record, by where they came from "
    "(sms_keyword, carrier, email_one_click, portal, operator, journey_signal)",
    ("source", "kind", "channel"),
)
PAYMENTS = Counter(
    "rapport_payments_total",
    "The payment provider's webhook events, by status: taken, setup, duplicate, "
    "not_running, ignored, refused, unavailable",
    ("status",),
)
PORTAL_ACTIONS = Counter(
    "rapport_portal_actions_total",
    "What customers did in the portal: a section's action (pay, plan, opt-out, ...), "
    "opened, check_passed, check_failed, check_locked, rate_limited",
    ("action",),
)
STORE_ERRORS = Counter(
    "rapport_store_errors_total",
    "Errors from the database, by kind (an insert that found its row already there is not one)",
    ("kind",),
)
ALL = (MESSAGES, HANDOFFS, STOPS, PAYMENTS, PORTAL_ACTIONS, STORE_ERRORS)

Sink = Callable[[Counter, Mapping[str, str], int], None]
_sink: Sink | None = None


def install(sink: Sink | None) -> None:
    """Where counts go in this process (None: nowhere)."""
    global _sink
    _sink = sink


def count(counter: Counter, value: int = 1, **labels: str) -> None:
    """Add `value` to `counter` with exactly its labels."""
    if set(labels) != set(counter.labels):
        raise ValueError(f"{counter.name} takes labels {counter.labels}, not {tuple(labels)}")
    if _sink is not None:
        _sink(counter, labels, value)
