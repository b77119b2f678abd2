"""Every signal a journey understands, in one table.

A new signal is one row here plus its effect on the journey's state
(`JourneyState.on_<name>` in workflows/state.py). The workflow registers a handler
per row; the client, the JSON Schemas, the scenario format and the simulator read
the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapport.contract.payloads import (
    AccountUpdated,
    CallbackRequest,
    Conversation,
    Engagement,
    MigrateTo,
    Note,
    OptOut,
    PaymentDetailsUpdated,
    PaymentReceived,
    PaymentReversed,
)
from rapport.contract.records import Payload


@dataclass(frozen=True)
class Signal:
    payload: type[Payload]
    effect: str
    schema: str
    """The JSON Schema file (`schemas/<schema>.schema.json`) of the payload."""
    payload_optional: bool = False
    operators_only: bool = False
    """Sent by operators' tools, not offered to billing systems (the HTTP API)."""
    since: str | None = None
    """The `workflow.patched` id that brought the signal: a journey run that began before
    it refuses the signal as unknown, as it did then (its replay is unchanged)."""


SIGNALS: dict[str, Signal] = {
    "payment_received": Signal(
        PaymentReceived,
        "lowers the balance; zero or less ends the journey paid",
        "payment_received",
    ),
    "payment_reversed": Signal(
        PaymentReversed,
        "puts what went back of a payment the journey took on the balance again (a "
        "refund, a dispute, a failed bank debit); a journey that ended paid refuses it "
        "(it stays in the ledger for billing)",
        "payment_reversed",
    ),
    "payment_details_updated": Signal(
        PaymentDetailsUpdated,
        "the customer saved new payment details: sets journey.engaged and "
        "account.history.payment_method_updated_days_ago to 0; segments are chosen again",
        "payment_details_updated",
    ),
    "account_updated": Signal(
        AccountUpdated,
        "the billing system's change to the account; segments and variants "
        "are chosen again at the next step; a balance of zero ends the journey paid",
        "account_updated",
    ),
    "opt_out": Signal(OptOut, "that channel is never used again for this account", "opt_out"),
    "engagement": Signal(Engagement, "sets journey.engaged", "engagement"),
    "conversation": Signal(
        Conversation,
        "an agent talked with the customer by telephone: calls wait out the cooldown of "
        "the account's rule packs (Regulation F: none for 7 days after); sets "
        "journey.engaged",
        "conversation",
        True,
        since="rules",
    ),
    "cease_communication": Signal(
        Note, "no message at all from then on; the journey ends ceased", "note", True
    ),
    "hardship_reported": Signal(
        Note, "sets account.history.hardship; segments are chosen again", "note", True
    ),
    "dispute": Signal(Note, "holds every message until dispute_resolved", "note", True),
    "dispute_resolved": Signal(Note, "ends the hold of a dispute", "note", True),
    "callback_requested": Signal(
        CallbackRequest,
        "pauses outreach and asks a person (handoff queue `callback`) to "
        "call at the time asked; `resume` ends the pause",
        "callback_requested",
    ),
    "closed_by_billing": Signal(
        Note,
        "the billing system no longer places the account (`journey import --close-missing`): "
        "no message from then on; the journey ends with outcome closed_by_billing",
        "note",
        True,
    ),
    "migrate_to": Signal(
        MigrateTo,
        "moves the journey to another version of its definition at its next step boundary "
        "(or where it rests in a wait), continuing as new, steps matched by id; refused, "
        "and listed in status.refused, when its current step is not in that version",
        "migrate_to",
        operators_only=True,
    ),
    "pause": Signal(Note, "an operator's hold on every message", "note", True),
    "resume": Signal(Note, "ends an operator's hold", "note", True),
}
