"""The activities' requests and replies.

Each carries what its activity needs and no more: a send carries the fields of the
account its template reads, never the whole account, and the journey's pin, never
its definition. All are `Kept`: a running journey's scheduled activity still reads
after a deploy.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field

from rapport.contract.records import Compact, JourneyPin, Kept, PlanOffered, PlanView, Receipt
from rapport.language.account import Account
from rapport.language.selection import JourneyFacts
from rapport.language.types import Channel, Money
from rapport.policy.caps import Delivery
from rapport.policy.limits import PlaceRules
from rapport.policy.zone import ZoneRules


class PrepareJourney(Compact, Kept):
    """Local activity at a journey's start: which journey (by name or entry rules), and
    the customer's zone rules. Local: its input is not written to history."""

    journey: str | None
    account: Account
    at: datetime | None = Field(
        None,
        description="the journey's time: its zone rules start "
        "here (a simulation runs in the future)",
    )


class Prepared(Compact, Kept):
    pin: JourneyPin
    zone: ZoneRules
    recent: list[Delivery] = Field(
        default_factory=list,
        description="what the account's earlier journeys delivered "
        "within the caps' reach: the caps count it too",
    )
    expressions: int = Field(
        1,
        description="the expression sandbox's version the journey evaluates its conditions "
        "with, for its whole life (rapport.language.sandbox.SANDBOX_VERSION)",
    )


class VersionRequest(Compact, Kept):
    """Local activity for `migrate_to`: the version of the journey's definition asked for,
    found in the archive or the worker's journeys folder, checked, and kept in the
    archive so that every worker finds it by hash."""

    journey_id: str
    version: int
    hash: str | None = None


class AccountRulesRequest(Compact, Kept):
    """Local activity: the rule packs an account is under, where it may be, the public
    holidays there; and what its earlier journeys delivered before `since` within the
    packs' reach. Local: the phone number it carries is not written to history."""

    account_id: str
    timezone: str
    country: str | None = None
    region: str | None = None
    phone: str | None = None
    at: datetime
    since: datetime = Field(description="the journey's ledger holds every delivery after this")


class AccountRules(Compact, Kept):
    place: PlaceRules
    earlier: list[Delivery] = Field(
        default_factory=list,
        description="deliveries of the account's earlier journeys before `since`, within "
        "the packs' reach: the caps count them too",
    )
    ledger_from: datetime | None = Field(
        None, description="the journey's ledger holds every delivery after this now"
    )


class ZoneRequest(Compact, Kept):
    timezone: str
    at: datetime


class PlanDates(Compact, Kept):
    """Local activity when a plan is chosen: its due dates moved off the days the
    account's rule packs close to the plan's channels (recorded: a pack edited later
    never moves a date on replay)."""

    dates: list[date]
    country: str | None = None
    region: str | None = None
    channels: list[Channel] = Field(default_factory=list)


class MovedDue(Compact, Kept):
    due: date
    moved_from: date | None = None
    why: str | None = None


class PlanDatesMoved(Compact, Kept):
    dues: list[MovedDue]


class PaymentCheck(Compact, Kept):
    account_id: str
    known_balance: Money
    opening_balance: Money | None = None
    currency: str = ""
    base_balance: Money | None = Field(
        None, description="the balance the journey began with, or account_updated last set"
    )
    balance_since: datetime | None = Field(None, description="when base_balance was set")
    at: datetime | None = Field(None, description="when the balance is asked for")


class SendMessage(Compact, Kept):
    key: str = Field(description="the idempotency key: the same on every retry")
    journey: JourneyPin
    step: str
    channel: Channel
    template: str
    account_id: str
    to: str = Field(description="the customer's address on this channel")
    fields: dict[str, Any] = Field(description="the account fields the template reads")
    balance: Money
    opening_balance: Money | None = Field(
        None, description="the balance the journey started with, when it is not `balance`"
    )
    base_balance: Money | None = Field(
        None, description="the balance the journey began with, or account_updated last set"
    )
    balance_since: datetime | None = Field(None, description="when base_balance was set")
    payment: Receipt | None = Field(
        None, description="the payment a thank-you is for (its reference, amount and day)"
    )
    plan: PlanOffered | None = None
    facts: JourneyFacts | None = Field(
        None, description="the journey's facts (`journey.*`), when the template reads them"
    )
    schedule: PlanView | None = Field(
        None, description="the plan the customer is on, for an on_plan message"
    )
    deliver_by: datetime = Field(description="no attempt starts after this (window close)")
    attempted_before: bool = Field(
        False, description="an earlier delivery with this key may have reached the provider"
    )
    reminder: bool = Field(
        True,
        description="a reminder is not sent once billing says the balance is paid; "
        "the thank-you is",
    )
    instance: str | None = Field(
        None,
        description="the journey instance whose recorded stops the send reads right "
        "before the provider call (`record_stop`)",
    )
    packs: list[str] = Field(
        default_factory=list,
        description="the rule packs the send was decided under (for `journey audit`)",
    )


class SendOutcome(Compact, Kept):
    status: Literal["delivered", "duplicate", "rejected", "paid", "suppressed", "called_off"]
    detail: str = ""
    possible_duplicate: bool = Field(
        False, description="retried on a provider without idempotency: may have gone twice"
    )
    balance: Money | None = Field(None, description="billing's balance, when it said paid")
    maybe_delivered: bool = Field(
        False,
        description="billing said paid on a retry: an earlier attempt may have "
        "reached the customer before the payment",
    )
    unlogged: bool = Field(
        False, description="delivered, but the store's delivery log could not be written"
    )
    delivered_at: datetime | None = Field(
        None,
        description="when the provider took it, by the server's clock: the moment the "
        "store's delivery log and (since the rules patch) the journey's caps count",
    )


class DeliveryRecord(Compact, Kept):
    """A delivery for the store's log (the caps of the account's later journeys)."""

    key: str
    account_id: str
    channel: Channel
    at: datetime


class HandoffRequest(Compact, Kept):
    key: str
    queue: str
    account_id: str
    journey_id: str
    segment: str
    summary: str = Field(description="what the journey did; no names or addresses")
    at: datetime


class RecordStop(Compact, Kept):
    """A stop that reached a journey (by any path, a raw Temporal signal included), kept in
    the store before anything else: the journey's stops for the send activity's last look,
    and a cease or an opt-out in the consent record, where every journey of the account,
    the portal and the CLI see it."""

    instance: str = Field(description="the journey instance: its workflow id and start")
    account_id: str
    seq: int = Field(description="the journey's stop number: an older write changes nothing")
    at: datetime
    paid: bool = False
    ceased: bool = False
    held: bool = False
    opted_out: list[Channel] = Field(default_factory=list)
    consent: Literal["cease", "opt_out"] | None = Field(
        None, description="a consent entry to add for the account (channel `all` for a cease)"
    )
    channel: str = "all"
    reference: str | None = Field(None, description="the consent entry's idempotency key")
