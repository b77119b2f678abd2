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
    GetJsonSchemaHandler,
    SerializerFunctionWrapHandler,
    Tag,
    model_serializer,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from rapport.language.durations import Duration, describe_duration
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

MAX_VERSION = 1_000_000


class Strict(BaseModel):
    """Every definition model rejects unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def doc(description: str, *examples: Any, **field: Any) -> Any:
    """A field as the schema shows it to editors: what it means, and examples."""
    return Field(description=description, examples=list(examples), **field)


def shown_default(value: str) -> dict[str, Any]:
    """The default as a designer writes it (the schema would print `PT0S`, `08:00:00`)."""
    return {"default": value}


class Entry(Strict):
    """When this journey is chosen for an account whose caller names no journey."""

    when: Expression = doc(
        "An expression on the account: the journey fits accounts for which it is true.",
        "account.days_past_due >= 1 and account.days_past_due <= 30",
    )
    priority: int = doc(
        "Of several journeys whose `when` fits, the highest priority is chosen.", 10, default=0
    )


class ContactWindow(Strict):
    """The hours messages may be delivered, in the customer's own time zone."""

    start: ClockTime = doc(
        "Opening time, HH:MM, customer-local; not before 08:00.",
        "09:00",
        default=time(8, 0),
        json_schema_extra=shown_default("08:00"),
    )
    end: ClockTime = doc(
        "Closing time, HH:MM, customer-local; not after 21:00.",
        "20:00",
        default=time(21, 0),
        json_schema_extra=shown_default("21:00"),
    )


class Cap(Strict):
    """At most `max` messages on `channel` in any rolling `per`."""

    channel: CapChannel = doc("The channel counted; `all` counts every channel.", "all", "sms")
    max: Annotated[int, Field(ge=1)] = doc("How many messages at most.", 3)
    per: Duration = doc("The rolling period, a duration such as 7d.", "7d")


FREQUENCIES = ("weekly", "fortnightly", "monthly")
Frequency = Literal["weekly", "fortnightly", "monthly"]
DEFAULT_FIRST_DUE = timedelta(days=7)  # a plan chosen without terms: its first due date


class PlanTerms(Strict):
    """The payment plans a customer may choose for themselves, from the portal's first
    page on the first visit (one tap), and the limits of any plan of the journey."""

    when: Expression | None = doc(
        "Which accounts may choose a plan: an expression on the account (absent: every "
        "account). Evaluated when the customer opens the portal and when they choose.",
        "account.balance >= 100 and not account.history.hardship",
        default=None,
    )
    installments: Annotated[
        list[Annotated[int, Field(ge=1, le=120)]], Field(min_length=1, max_length=12)
    ] = doc(
        "The numbers of installments a customer may choose (each installment is the "
        "balance divided by it, in the currency's minor units, the remainder on the last).",
        [3, 6, 12],
    )
    every: Annotated[list[Frequency], Field(min_length=1)] = doc(
        "How often installments may fall due: weekly, fortnightly, monthly (the customer "
        "chooses; the first listed is the default).",
        ["monthly", "fortnightly"],
        default_factory=lambda: ["monthly"],
    )
    min_installment: Money = doc(
        "Choices whose installment would be smaller are not offered.",
        "25.00",
        default=Decimal("0"),
        json_schema_extra=shown_default("0"),
    )
    first_due_in: Duration = doc(
        "How long after the plan is chosen its first installment falls due (to the "
        "customer's calendar day).",
        "7d",
        default=DEFAULT_FIRST_DUE,
        json_schema_extra=shown_default("7d"),
    )


class Policy(Strict):
    """What every message of the journey keeps to; the rule packs may be stricter."""

    contact_window: ContactWindow = doc(
        "When messages may be delivered, customer-local; within 08:00-21:00.",
        {"start": "08:00", "end": "21:00"},
        default=ContactWindow(),
    )
    days: list[Weekday] = doc(
        "The days messages may be delivered on (default: every day).",
        ["mon", "tue", "wed", "thu", "fri", "sat"],
        default_factory=lambda: list(WEEKDAYS),
        min_length=1,
    )
    caps: list[Cap] = doc(
        "Frequency caps: each holds in every rolling window of its period.",
        [{"channel": "all", "max": 3, "per": "7d"}, {"channel": "sms", "max": 2, "per": "7d"}],
        default_factory=list,
    )
    min_gap: Duration = doc(
        "The least time between any two messages.",
        "20h",
        default=timedelta(),
        json_schema_extra=shown_default("0"),
    )
    on_cap: Literal["defer", "skip"] = doc(
        "A send a cap blocks: `defer` waits until the caps allow it, `skip` drops it.",
        "defer",
        default="defer",
    )
    # A check for the validator only, never read at run time: kept out of the pinned
    # definition (`exclude`), so it does not change the content hash of any journey.
    sms_max_segments: int = doc(
        "Warn when a text is longer than this many billed SMS segments (160 GSM-7 "
        "characters, or 70 when an accent or emoji makes it UCS-2, each).",
        2,
        default=2,
        ge=1,
        le=10,
        exclude=True,
    )
    plans: PlanTerms | None = doc(
        "Payment plans the customer may choose from the portal at any time, and the "
        "limits of every plan of the journey (offers, renegotiation). Absent: a plan only "
        "from an `offer_plan` step.",
        {"installments": [3, 6], "every": ["monthly", "fortnightly"], "min_installment": "25.00"},
        default=None,
    )

    @model_serializer(mode="wrap")
    def _without_absent_plans(self, handler: SerializerFunctionWrapHandler) -> Any:
        """A policy without plan terms dumps as it did before the key existed, so the
        content hash of every version pinned before it stays the same."""
        data = handler(self)
        if isinstance(data, dict) and data.get("plans") is None:
            data.pop("plans", None)
        return data


class Segment(Strict):
    """A kind of customer; the first segment whose `when` holds is the account's."""

    id: Slug = doc("The segment's name, used by `variants` and in `segment == '...'`.", "loyal")
    when: Expression = doc(
        "An expression on the account.",
        "account.history.tenure_months >= 24 and account.history.missed_payments_12m == 0",
    )


class Message(Strict):
    """What to send: a channel and a template, with per-segment variants and a fallback."""

    channel: Channel = doc("The channel to send on.", "email")
    template: Slug = doc(
        "The template's name: templates/NAME.CHANNEL.j2 (NAME.LANG.CHANNEL.j2 per language).",
        "reminder",
    )
    variants: dict[str, Slug] = doc(
        "Another template for some segments: segment id -> template name.",
        {"loyal_first_miss": "reminder_loyal"},
        default_factory=dict,
    )
    fallback: Channel | None = doc(
        "The channel to use when `channel` cannot reach the customer (no consent, no "
        "address, opted out).",
        "sms",
        default=None,
    )

    def template_for(self, segment: str) -> str:
        return self.variants.get(segment, self.template)

    def channels(self) -> list[Channel]:
        return [self.channel] + ([self.fallback] if self.fallback else [])


class Sendable(Message):
    """A message of a send step or of a notice: one that may be transactional."""

    transactional: bool | None = doc(
        "A receipt, a thank-you, a confirmation: it goes at once, without waiting for "
        "`min_gap` or the caps (it still keeps the contact window, consent, opt-outs and "
        "the rule packs, and counts in the caps of the messages after it). Absent: "
        "`on_paid` is transactional, every other message is not.",
        True,
        default=None,
    )

    @model_serializer(mode="wrap")
    def _without_absent_transactional(self, handler: SerializerFunctionWrapHandler) -> Any:
        """A message that does not say `transactional` dumps as it did before the key
        existed, so the content hash of every version pinned before it stays the same."""
        data = handler(self)
        if isinstance(data, dict) and data.get("transactional") is None:
            data.pop("transactional", None)
        return data


def is_transactional(message: Message, on_paid: bool = False) -> bool:
    """Whether a message goes without waiting for `min_gap` or the caps: as it says, else
    only the thank-you for a payment in full (`on_paid`)."""
    said = getattr(message, "transactional", None)
    return on_paid if said is None else bool(said)


class SendAction(Sendable):
    """A message, sent under the policy; with `when`, only if the expression holds."""

    when: Expression | None = doc(
        "Send only if this expression holds when the step is reached.",
        "not journey.engaged",
        default=None,
    )


class PlanOffer(Message):
    """A payment-plan offer, then a wait for the customer's answer."""

    installments: Annotated[list[Annotated[int, Field(ge=1, le=120)]], Field(min_length=1)] = doc(
        "The numbers of installments offered (each option's installment is the balance "
        "divided by it).",
        [2, 3, 6],
    )
    min_installment: Money = doc(
        "Options whose installment would be smaller are not offered.",
        "25.00",
        default=Decimal("0"),
        json_schema_extra=shown_default("0"),
    )
    respond_within: Duration = doc("How long the offer waits for an answer.", "7d")


class Handoff(Strict):
    """A task for a person."""

    queue: Slug = doc("The work queue the task goes to.", "collections-team")


class Notice(Strict):
    """A message sent when something happens, whatever step the journey is at."""

    send: Sendable = doc(
        "The message.", {"channel": "email", "template": "thank_you", "fallback": "sms"}
    )


class PlanBroken(Strict):
    """When a plan breaks, and where the journey goes on."""

    misses: Annotated[int, Field(ge=1, le=12)] = doc(
        "How many missed installments break the plan: an installment is missed when its "
        "`grace` ends and it is not paid in full (a late payment before then is no miss).",
        1,
        default=1,
    )
    goto: str = doc(
        "The step the journey goes on at when the plan breaks (for example a softer "
        "re-offer, then escalation).",
        "reoffer",
    )


class OnPlan(Strict):
    """What the journey does while the customer is on a payment plan: it keeps running
    on the plan's schedule instead of ending `plan_accepted`."""

    confirmation: Message | None = doc(
        "Sent when a plan is chosen (or changed), with the schedule (`plan.installments`); "
        "it goes at once, waiting only for the contact window.",
        {"channel": "email", "template": "plan_confirmation", "fallback": "sms"},
        default=None,
    )
    remind_before: Duration = doc(
        "How long before each due date its reminder goes (at the contact window's opening "
        "that day): 3d, 1w. One reminder per installment.",
        "3d",
        default=timedelta(days=3),
        json_schema_extra=shown_default("3d"),
    )
    reminder: Message = doc(
        "The reminder before each installment, under the whole policy (window, caps, gap, "
        "consent, rule packs); never sent for an installment already paid.",
        {"channel": "sms", "template": "plan_reminder", "fallback": "email"},
    )
    thanks: Message | None = doc(
        "Sent after each payment while on the plan (the payment in `payment`, the schedule "
        "in `plan`); never held back by `min_gap` or the caps, it may wait for the window.",
        {"channel": "sms", "template": "plan_thanks", "fallback": "email"},
        default=None,
    )
    grace: Duration = doc(
        "How long after a due date an installment may still be paid before it counts as "
        "missed: 3d, 1w (0: none).",
        "3d",
        default=timedelta(days=3),
        json_schema_extra=shown_default("3d"),
    )
    broken: PlanBroken = doc(
        "How many misses break the plan and the step to go to then.",
        {"misses": 1, "goto": "reoffer"},
    )
    renegotiate: Annotated[int, Field(ge=0, le=3)] = doc(
        "How many times a customer on a plan may choose a new one (the old schedule ends); "
        "the choices are the journey's: `policy.plans`, else its last offer.",
        1,
        default=1,
    )

    def messages(self) -> list[tuple[str, Message]]:
        found = [("confirmation", self.confirmation), ("reminder", self.reminder)]
        found.append(("thanks", self.thanks))
        return [(key, message) for key, message in found if message is not None]


class BranchRule(Strict):
    """Go to `goto` if `when` holds (no `when`: always)."""

    when: Expression | None = doc(
        "An expression; absent: always true.", "segment == 'hardship'", default=None
    )
    goto: str = doc("The id of the step to go to.", "plan")


class StepBase(Strict):
    id: Slug = doc("The step's unique id, for gotos, previews and reports.", "reminder")


class SendStep(StepBase):
    """Send one message."""

    send: SendAction = doc(
        "The message to send.",
        {"channel": "email", "template": "reminder", "fallback": "sms"},
    )


class WaitStep(StepBase):
    """Wait; a payment in full, an accepted plan or a cease ends the wait at once."""

    wait: Duration = doc("How long to wait: 90m, 36h, 3d, 1d12h, 2w.", "3d")


WAIT_EVENTS = ("paid", "replied", "plan_accepted")
WaitEvent = Literal["paid", "replied", "plan_accepted"]


class WaitUntil(Strict):
    """Wait until one of `any_of` happens while waiting, or `timeout` passes."""

    any_of: Annotated[list[WaitEvent], Field(min_length=1)] = doc(
        "What ends the wait early, when it happens while the step waits: `paid` (a "
        "payment arrives, in part or in full), `replied` (the customer replies: see "
        "`journey.replied`), `plan_accepted` (the customer accepts a plan).",
        ["paid", "replied"],
    )
    timeout: Duration = doc(
        "The longest the step waits: 90m, 36h, 3d, 1d12h, 2w. Required: a journey never "
        "waits for ever.",
        "7d",
    )

    def said(self) -> str:
        """`until paid or replied, at most 7d`: for diagrams, diffs and previews."""
        events = [event.replace("_", " ") for event in self.any_of]
        listed = " or ".join([", ".join(events[:-1]), events[-1]] if len(events) > 1 else events)
        return f"until {listed}, at most {describe_duration(self.timeout)}"


class WaitUntilStep(StepBase):
    """Wait until the customer pays, replies or accepts a plan, or the timeout; sends
    nothing."""

    wait_until: WaitUntil = doc(
        "What ends the wait, and the longest it waits.",
        {"any_of": ["paid", "replied"], "timeout": "7d"},
    )


class BranchStep(StepBase):
    """Jump to the first rule whose `when` holds; none: the next step."""

    branch: Annotated[list[BranchRule], Field(min_length=1)] = doc(
        "The rules, tried in order.", [{"when": "segment == 'hardship'", "goto": "plan"}]
    )


class OfferPlanStep(StepBase):
    """Offer a payment plan, then wait for the answer."""

    offer_plan: PlanOffer = doc(
        "The offer.",
        {
            "channel": "email",
            "template": "plan_offer",
            "installments": [2, 3, 6],
            "min_installment": "25.00",
            "respond_within": "7d",
        },
    )


class HandoffStep(StepBase):
    """Ask a person to reach out, then go on."""

    handoff: Handoff = doc("Where the task goes.", {"queue": "collections-team"})


class EndStep(StepBase):
    """End the journey with an outcome label."""

    end: Slug = doc("The outcome the journey ends with.", "handed_off")


DEFAULT_COUNTRIES = ("US",)  # every journey written before `countries` existed was a US one

STEP_KINDS = ("send", "wait", "wait_until", "branch", "offer_plan", "handoff", "end")


def _step_kind(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        kinds = [k for k in STEP_KINDS if hasattr(value, k)]
    elif isinstance(value, dict):
        kinds = [k for k in STEP_KINDS if k in value]
    else:
        return None
    return f"{kinds[0]}-step" if len(kinds) == 1 else None


_KIND_WORDS = {
    "send": "Send one message: a channel and a template (a fallback channel, variants).",
    "wait": "Wait this long: 90m, 36h, 3d, 1d12h, 2w.",
    "wait_until": "Wait until the customer pays, replies or accepts a plan (`any_of`), at "
    "most `timeout`; sends nothing.",
    "branch": "Rules tried in order: go to the first whose `when` holds; none: next step.",
    "offer_plan": "Offer a payment plan, then wait `respond_within` for the answer.",
    "handoff": "Ask a person on `queue` to reach out, then go on.",
    "end": "End the journey with this outcome label.",
}
_KIND_EXAMPLES: dict[str, Any] = {
    "send": {"channel": "sms", "template": "options", "fallback": "email"},
    "wait": "3d",
    "wait_until": {"any_of": ["paid", "replied"], "timeout": "7d"},
    "branch": [{"when": "segment == 'hardship'", "goto": "plan"}],
    "offer_plan": {
        "channel": "email",
        "template": "plan_offer",
        "installments": [2, 3, 6],
        "respond_within": "7d",
    },
    "handoff": {"queue": "collections-team"},
    "end": "handed_off",
}


class _StepKindsSchema:
    """The JSON Schema of a step, written so editors name the field at fault.

    A plain `oneOf` of the six kinds makes an editor say only "not valid under any of
    the given schemas" for a typo in a send. Here the step's kind key chooses its schema
    (`if: {required: [send]} then: SendStep`), so a bad channel is reported at
    `steps[0].send.channel`; `oneOf` on the kind keys alone says a step has exactly one."""

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        generated = handler(core_schema)
        refs = [member["$ref"] for member in generated["oneOf"]]
        return {
            "type": "object",
            "description": "A step: an `id` and exactly one of " + ", ".join(STEP_KINDS) + ".",
            "required": ["id"],
            "properties": {
                "id": {"description": "The step's unique id.", "examples": ["reminder"]},
                **{
                    kind: {"description": _KIND_WORDS[kind], "examples": [_KIND_EXAMPLES[kind]]}
                    for kind in STEP_KINDS
                },
            },
            "oneOf": [{"required": [kind], "title": f"{kind} step"} for kind in STEP_KINDS],
            "allOf": [
                {"if": {"required": [kind]}, "then": {"$ref": ref}}
                for kind, ref in zip(STEP_KINDS, refs, strict=True)
            ],
            "examples": [{"id": "pause", "wait": "3d"}],
        }


Step = Annotated[
    Annotated[SendStep, Tag("send-step")]
    | Annotated[WaitStep, Tag("wait-step")]
    | Annotated[WaitUntilStep, Tag("wait_until-step")]
    | Annotated[BranchStep, Tag("branch-step")]
    | Annotated[OfferPlanStep, Tag("offer_plan-step")]
    | Annotated[HandoffStep, Tag("handoff-step")]
    | Annotated[EndStep, Tag("end-step")],
    Discriminator(
        _step_kind,
        custom_error_type="step_kind",
        custom_error_message="a step has an id and exactly one of: " + ", ".join(STEP_KINDS),
    ),
    _StepKindsSchema(),
]


class JourneyDefinition(Strict):
    """One journey, as a designer writes it in YAML."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={"title": "Rapport journey definition"},
    )

    id: Slug = doc("The journey's id: billing systems and scenarios name it.", "early-stage")
    # At most MAX_VERSION: the version is a search attribute (a 64-bit Int in Temporal),
    # and one past it made every start of the journey fail at the server.
    version: Annotated[int, Field(ge=1, le=MAX_VERSION)] = doc(
        "Bump it whenever you change the journey; running journeys keep theirs.", 1
    )
    name: Annotated[str, Field(min_length=1)] = doc(
        "What people call the journey.", "Early-stage reminders"
    )
    description: str = doc("What the journey is for.", "First 30 days past due.", default="")
    entry: Entry | None = doc(
        "When the journey is chosen for an account the caller names no journey for.",
        {"when": "account.days_past_due <= 30", "priority": 10},
        default=None,
    )
    countries: Annotated[list[Country], Field(min_length=1)] | None = doc(
        "Where the journey's accounts may live (ISO 3166-1 codes); absent: US. The rule "
        "packs of these countries are checked against the policy.",
        ["US"],
        default=None,
    )
    policy: Policy = doc(
        "Contact window, days, caps and gaps every message keeps to.",
        {"contact_window": {"start": "08:00", "end": "21:00"}, "min_gap": "20h"},
        default=Policy(),
    )
    segments: list[Segment] = doc(
        "Kinds of customers, first match wins; an account matching none is `default`.",
        [{"id": "hardship", "when": "account.history.hardship"}],
        default_factory=list,
    )
    on_paid: Notice | None = doc(
        "Sent once when the balance reaches zero; then the journey ends `paid`.",
        {"send": {"channel": "email", "template": "thank_you"}},
        default=None,
    )
    on_partial_payment: Notice | None = doc(
        "Sent after a payment that leaves a balance; the journey goes on.",
        {"send": {"channel": "sms", "template": "partial_thanks"}},
        default=None,
    )
    on_plan: OnPlan | None = doc(
        "What the journey does while the customer is on a payment plan: the schedule, a "
        "reminder before each installment, thanks after each payment, a grace period, and "
        "where it goes when the plan breaks. Absent: an accepted plan ends the journey "
        "`plan_accepted`.",
        {
            "confirmation": {"channel": "email", "template": "plan_confirmation"},
            "remind_before": "3d",
            "reminder": {"channel": "sms", "template": "plan_reminder", "fallback": "email"},
            "thanks": {"channel": "sms", "template": "plan_thanks", "fallback": "email"},
            "grace": "3d",
            "broken": {"misses": 1, "goto": "reoffer"},
        },
        default=None,
    )
    steps: Annotated[list[Step], Field(min_length=1)] = doc(
        "What the journey does, in order: each step has an `id` and one of send, wait, "
        "wait_until, branch, offer_plan, handoff, end.",
        [{"id": "reminder", "send": {"channel": "email", "template": "reminder"}}],
    )

    @model_validator(mode="before")
    @classmethod
    def _must_be_mapping(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError("a journey definition is a mapping of keys such as id, steps")
        return data

    @model_serializer(mode="wrap")
    def _without_absent_countries(self, handler: SerializerFunctionWrapHandler) -> Any:
        """A definition that does not name countries (or `on_plan`) dumps as it did before
        the key existed, so the content hash of every version pinned before it stays the
        same."""
        data = handler(self)
        for key in ("countries", "on_plan"):
            if isinstance(data, dict) and data.get(key) is None:
                data.pop(key, None)
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
        if self.on_plan is not None:
            found += [(("on_plan", key), message) for key, message in self.on_plan.messages()]
        return found

    def plan_frequencies(self) -> list[Frequency]:
        """How often a plan's installments may fall due: the terms', else monthly."""
        terms = self.policy.plans
        return list(terms.every) if terms is not None else ["monthly"]
