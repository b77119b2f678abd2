"""The journey definition, as docs/designing-journeys.md describes it.

These models are the schema: `journey schema` prints their JSON Schema and
the loader validates every file against them. Checks that need the whole
definition (gotos, loops, templates) live in `checks`.
"""

from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    SerializerFunctionWrapHandler,
    Tag,
    model_serializer,
    model_validator,
)

from rapport.language.durations import Duration
from rapport.language.types import (
    WEEKDAYS,
    CapChannel,
    Channel,
    ClockTime,
    Country,
    Expression,
    Money,
    Slug,
    Weekday,
)


class Strict(BaseModel):
    """Every definition model rejects unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Entry(Strict):
    when: Expression
    priority: int = 0


class ContactWindow(Strict):
    start: ClockTime = time(8, 0)
    end: ClockTime = time(21, 0)


class Cap(Strict):
    channel: CapChannel
    max: Annotated[int, Field(ge=1)]
    per: Duration


class Policy(Strict):
    contact_window: ContactWindow = ContactWindow()
    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS), min_length=1)
    caps: list[Cap] = Field(default_factory=list)
    min_gap: Duration = timedelta()
    on_cap: Literal["defer", "skip"] = "defer"
    # A check for the validator only, never read at run time: kept out of the pinned
    # definition (`exclude`), so it does not change the content hash of any journey.
    sms_max_segments: int = Field(default=2, ge=1, le=10, exclude=True)


class Segment(Strict):
    id: Slug
    when: Expression


class Message(Strict):
    """What to send: a channel and a template, with per-segment variants and a fallback."""

    channel: Channel
    template: Slug
    variants: dict[str, Slug] = Field(default_factory=dict)
    fallback: Channel | None = None

    def template_for(self, segment: str) -> str:
        return self.variants.get(segment, self.template)

    def channels(self) -> list[Channel]:
        return [self.channel] + ([self.fallback] if self.fallback else [])


class SendAction(Message):
    when: Expression | None = None


class PlanOffer(Message):
    installments: Annotated[list[Annotated[int, Field(ge=1, le=120)]], Field(min_length=1)]
    min_installment: Money = Decimal("0")
    respond_within: Duration


class Handoff(Strict):
    queue: Slug


class Notice(Strict):
    send: Message


class BranchRule(Strict):
    when: Expression | None = None
    goto: str


class StepBase(Strict):
    id: Slug


class SendStep(StepBase):
    send: SendAction


class WaitStep(StepBase):
    wait: Duration


class BranchStep(StepBase):
    branch: Annotated[list[BranchRule], Field(min_length=1)]


class OfferPlanStep(StepBase):
    offer_plan: PlanOffer


class HandoffStep(StepBase):
    handoff: Handoff


class EndStep(StepBase):
    end: Slug


DEFAULT_COUNTRIES = ("US",)  # every journey written before `countries` existed was a US one

STEP_KINDS = ("send", "wait", "branch", "offer_plan", "handoff", "end")


def _step_kind(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        kinds = [k for k in STEP_KINDS if hasattr(value, k)]
    elif isinstance(value, dict):
        kinds = [k for k in STEP_KINDS if k in value]
    else:
        return None
    return f"{kinds[0]}-step" if len(kinds) == 1 else None


Step = Annotated[
    Annotated[SendStep, Tag("send-step")]
    | Annotated[WaitStep, Tag("wait-step")]
    | Annotated[BranchStep, Tag("branch-step")]
    | Annotated[OfferPlanStep, Tag("offer_plan-step")]
    | Annotated[HandoffStep, Tag("handoff-step")]
    | Annotated[EndStep, Tag("end-step")],
    Discriminator(
        _step_kind,
        custom_error_type="step_kind",
        custom_error_message="a step has an id and exactly one of: " + ", ".join(STEP_KINDS),
    ),
]


class JourneyDefinition(Strict):
    """One journey, as a designer writes it in YAML."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={"title": "Rapport journey definition"},
    )

    id: Slug
    version: Annotated[int, Field(ge=1)]
    name: Annotated[str, Field(min_length=1)]
    description: str = ""
    entry: Entry | None = None
    countries: Annotated[list[Country], Field(min_length=1)] | None = None
    """Where the journey's accounts may live (ISO 3166-1 codes); absent: `[US]`. The rule
    packs of these countries are checked against the policy (docs/compliance.md)."""
    policy: Policy = Policy()
    segments: list[Segment] = Field(default_factory=list)
    on_paid: Notice | None = None
    on_partial_payment: Notice | None = None
    steps: Annotated[list[Step], Field(min_length=1)]

    @model_validator(mode="before")
    @classmethod
    def _must_be_mapping(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError("a journey definition is a mapping of keys such as id, steps")
        return data

    @model_serializer(mode="wrap")
    def _without_absent_countries(self, handler: SerializerFunctionWrapHandler) -> Any:
        """A definition that does not name countries dumps as it did before the key
        existed, so the content hash of every version pinned before it stays the same."""
        data = handler(self)
        if isinstance(data, dict) and data.get("countries") is None:
            data.pop("countries", None)
        return data

    def reach(self) -> tuple[str, ...]:
        """The countries whose accounts this journey may run for."""
        return tuple(self.countries or DEFAULT_COUNTRIES)

    def step_index(self) -> dict[str, int]:
        return {step.id: i for i, step in enumerate(self.steps)}

    def messages(self) -> list[tuple[tuple[str | int, ...], Message]]:
        """Every message the journey can send, with its field path."""
        found: list[tuple[tuple[str | int, ...], Message]] = []
        for i, step in enumerate(self.steps):
            if isinstance(step, SendStep):
                found.append((("steps", i, "send"), step.send))
            elif isinstance(step, OfferPlanStep):
                found.append((("steps", i, "offer_plan"), step.offer_plan))
        for key in ("on_paid", "on_partial_payment"):
            notice = getattr(self, key)
            if notice is not None:
                found.append(((key, "send"), notice.send))
        return found
