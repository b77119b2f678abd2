"""What a journey keeps and reports about itself: messages, skips, handoffs, plans,
payments, refused events.

Two kinds of model. `Payload`: what others send, strict (a typo is an error).
`Kept`: what a journey keeps in its history and state, read tolerantly, so that a
deploy never breaks the replay of a running journey: an unknown field is ignored, a
missing one takes its default, and `trusted()` reads without re-checking the bounds
that were checked when the data came in.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field

from rapport.language.models import PlanOffer
from rapport.language.types import Channel, Money
from rapport.policy.installments import InstallmentState, Plan
from rapport.policy.plans import PlanOption, plan_options

M = TypeVar("M", bound=BaseModel)
TRUSTED = {"trusted": True}  # validation context: data this engine wrote and checked


class Payload(BaseModel):
    """What others send refuses unknown keys: a typo is an error, not a silent default."""

    model_config = ConfigDict(extra="forbid")


class Kept(BaseModel):
    """What a journey keeps is read tolerantly (see the module's docstring). What it
    reports always carries every field (defaults included), so its JSON Schema says every
    field is required: a client generated from it needs no "maybe missing" checks."""

    model_config = ConfigDict(extra="ignore", json_schema_serialization_defaults_required=True)


class Compact:
    """Written to history without the fields at their defaults (the engine's own payloads;
    see `rapport.runtime.temporal.CompactJson`)."""

    compact: ClassVar[bool] = True


def trusted(model: type[M], data: Any) -> M:
    """Read data this engine wrote earlier: fields it no longer has are dropped (even in
    strict models such as the account), and our own bounds are not checked again."""
    return model.model_validate(_known(model, data), context=TRUSTED)


def _known(model: type[BaseModel], data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    kept = {}
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key in data:
            kept[key] = _known_value(field.annotation, data[key])
    return kept


def _known_value(annotation: Any, value: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _known(annotation, value)
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (list, tuple) and args and isinstance(value, list):
        return [_known_value(args[0], item) for item in value]
    if origin is dict and len(args) == 2 and isinstance(value, dict):
        return {k: _known_value(args[1], v) for k, v in value.items()}
    models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
    if (origin is Union or str(origin) == "types.UnionType") and len(models) == 1:
        return _known(models[0], value) if isinstance(value, dict) else value
    return value


class JourneyPin(Kept):
    """A definition pinned by id, version and the hash of its content and templates."""

    id: str
    version: int
    hash: str


class MigrationRecord(Kept):
    """A journey moved to another version of its definition (`migrate_to`)."""

    from_version: int
    to_version: int
    from_hash: str
    to_hash: str
    step: str | None = Field(description="the step it was in, matched by id in the new version")
    at: datetime
    reason: str = ""


class PendingMigration(Kept):
    """A `migrate_to` taken and not yet done: the version asked for, and the pin an
    activity resolved for it (None until then)."""

    version: int
    hash: str | None = None
    pin: JourneyPin | None = None
    asked_at: datetime
    reason: str = ""


class ScheduledDue(Kept):
    """One installment as the plan's schedule says it when the plan is chosen."""

    due: date
    amount: Money
    moved_from: date | None = Field(
        None, description="the date the schedule gave, when the rule packs closed that day"
    )


class AcceptedPlan(Kept):
    installments: int
    amount: Money
    last_amount: Money
    first_due: date
    accepted_at: datetime
    every: str = Field("monthly", description="weekly, fortnightly or monthly")
    schedule: list[ScheduledDue] = Field(
        default_factory=list,
        description="each installment's due date and amount (a journey that follows plans)",
    )


class SentMessage(Kept):
    step: str
    channel: Channel
    template: str
    at: datetime
    key: str
    packs: list[str] = Field(
        default_factory=list, description="the rule packs it was sent under (by id)"
    )


class SkippedStep(Kept):
    step: str
    channel: Channel | None
    at: datetime
    reason: str
    detail: str = ""
    pack: str = Field(
        "", description="the rule pack that decided (`journey`: the journey's policy), if any"
    )
    rule: str = Field("", description="the rule of that pack (or the policy's field)")


class Deferral(Kept):
    """A message that waited: when it was decided, until when, and which rule (of which
    pack, or the journey's policy) refused the moment it asked for."""

    step: str
    channel: Channel
    at: datetime
    until: datetime
    pack: str
    rule: str
    zone: str = Field("", description="the time zone whose window refused it")
    detail: str = Field("", description="e.g. the public holiday's name")


class HandoffRecord(Kept):
    step: str
    queue: str
    at: datetime


class PaymentRecord(Kept):
    payment_id: str
    amount: Money
    at: datetime
    balance_after: Money
    counted: bool = True  # False: it came after the journey was paid (left to billing)


class Receipt(Kept):
    """What a thank-you says of the payment it thanks for."""

    reference: str
    amount: Money
    day: date  # in the customer's zone


class ReversalRecord(Kept):
    """What went back of a payment the journey took, in all, and why."""

    payment_id: str
    amount: Money
    reason: str
    at: datetime
    balance_after: Money


class WaitRecord(Kept):
    """A `wait_until` step that ended: when it began and ended, and what ended it."""

    step: str
    began: datetime
    ended: datetime
    ended_by: str = Field(
        description="paid, replied or plan_accepted (what it waited for), timeout, or "
        "stopped (the journey ended: paid in full, ceased, closed)"
    )


class RefusedEvent(Kept):
    """A signal the journey could not take, and why: visible in `status`, never silent."""

    event: str
    at: datetime
    error: str
    payment_id: str | None = Field(
        None, description="the payment_id the refused event carried, if it carried one"
    )


class PlanOffered(Kept):
    """A plan offer as made to the customer; binding until it expires or the balance
    changes."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    options: list[PlanOption]
    offered: list[int]
    min_installment: Decimal
    first_due: date
    balance: Money | None = None
    expires_at: datetime | None = None

    @classmethod
    def of(
        cls,
        balance: Decimal,
        offer: PlanOffer,
        first_due: date,
        expires_at: datetime | None = None,
        currency: str | None = None,
    ) -> PlanOffered | None:
        """The options `offer` allows on `balance`, in `currency`'s minor units (None: in
        cents, as plans were offered before; see `plan_option`); None when none qualifies."""
        options = plan_options(balance, offer.installments, offer.min_installment, currency)
        if not options:
            return None
        return cls(
            options=options,
            offered=[o.installments for o in options],
            min_installment=offer.min_installment,
            first_due=first_due,
            balance=balance,
            expires_at=expires_at,
        )

    def option(self, installments: int) -> PlanOption | None:
        return next((o for o in self.options if o.installments == installments), None)


class InstallmentView(Kept):
    number: int
    due: date
    amount: Money
    paid: Money
    left: Money
    state: InstallmentState = Field(description="due, paid, late or missed")
    paid_on: date | None = None
    moved_from: date | None = None
    moved_for: str | None = None


class PlanView(Kept):
    """The plan the customer is on (or the last one): `status --json` shows it as `plan`,
    and an `on_plan` message's template reads it as `plan`."""

    number: int = Field(description="1 for the journey's first plan, 2 for the next...")
    state: Literal["running", "paid", "broken", "replaced", "finished", "ended"]
    every: str
    accepted_at: datetime
    installments: list[InstallmentView]
    next_number: int | None = Field(None, description="the installment to pay next")
    total: Money
    left: Money
    misses: int = 0
    carried: Money = Field(Decimal(0), description="paid beyond the last installment")

    @classmethod
    def of(cls, plan: Plan, now: datetime, grace: timedelta) -> PlanView:
        """`plan` at `now` (customer-local), or as it stood when it ended."""
        following, now = plan.next_open(), plan.as_of(now)
        return cls(
            number=plan.number,
            state=plan.ended or "running",
            every=plan.every,
            accepted_at=plan.accepted_at,
            installments=[
                InstallmentView(
                    number=i.number,
                    due=i.due,
                    amount=i.amount,
                    paid=i.paid,
                    left=i.left,
                    state=i.state(now, grace),
                    paid_on=i.paid_on,
                    moved_from=i.moved_from,
                    moved_for=i.moved_for,
                )
                for i in plan.installments
            ],
            next_number=following.number if following else None,
            total=plan.total,
            left=plan.left,
            misses=plan.misses(now, grace),
            carried=plan.carried,
        )

    @property
    def next(self) -> InstallmentView | None:
        return next((i for i in self.installments if i.number == self.next_number), None)


class PlanChoices(Kept):
    """The plans the customer may choose now, on the balance now (the portal's one tap):
    from the journey's plan terms, or the offer standing."""

    options: list[PlanOption]
    every: list[str] = Field(description="the frequencies the customer may choose")
    first_due: date = Field(description="when the first installment would fall due")
    changes_plan: bool = Field(
        False, description="choosing would replace the plan the customer is on"
    )


RECENT = 50  # how many of each record a journey keeps and carries (counts are kept whole)


def recent(items: list[M], limit: int = RECENT) -> list[M]:
    return items[-limit:]
