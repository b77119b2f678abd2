"""Checks beyond the schema: what makes a well-formed definition safe to run.

Each check yields Problems with the field path; the loader adds file and line.
The workflow never re-checks any of this: a definition that reaches it has
passed here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import Decimal

from jinja2.exceptions import SecurityError

from rapport.channels import CHANNELS
from rapport.channels.sms import sms_length
from rapport.language.context import LINK_NAMES, message_context
from rapport.language.durations import describe_duration
from rapport.language.expressions import ExpressionError, compile_expression, segment_names
from rapport.language.models import (
    BranchStep,
    EndStep,
    JourneyDefinition,
    Message,
    OfferPlanStep,
    PlanOffer,
    SendStep,
    Step,
    WaitStep,
    WaitUntilStep,
)
from rapport.language.problems import Path, Severity, did_you_mean, quoted
from rapport.language.samples import AnyAttributes, is_language, sample_account
from rapport.language.sandbox import budgeted
from rapport.language.selection import JourneyFacts, expression_context
from rapport.language.template_names import template_field_problems
from rapport.language.templates import (
    NAMES,
    TemplateBundle,
    TemplateProblem,
    split_file_name,
    template_file,
)

_SAMPLE_LINKS = {name: f"https://pay.example.com/r/{name}" for name in LINK_NAMES}
_OPT_OUT_MARK = "\u2063opt-out\u2063"

# The widest contact window the language accepts, customer-local: the engine's floor
# (Regulation F's hours, kept for every account; docs/compliance.md).
EARLIEST_CONTACT = time(8, 0)
LATEST_CONTACT = time(21, 0)

# (field path, message) for definition problems; template problems carry their own file.
Finding = tuple[Path, str]

# A journey has a few dozen steps at most; the checks of a longer one (paths through it,
# a render of each message) would cost more than a designer waits for.
MAX_STEPS = 500


def too_many_steps(definition: JourneyDefinition) -> Finding | None:
    count = len(definition.steps)
    if count <= MAX_STEPS:
        return None
    return ("steps",), f"{count} steps: a journey has at most {MAX_STEPS}; split it in two"


def check_definition(definition: JourneyDefinition) -> Iterator[Finding]:
    yield from _unique_ids(definition)
    yield from _gotos(definition)
    yield from _loops_without_wait(definition)
    yield from _variants(definition)
    yield from _policy(definition)
    yield from _expressions(definition)
    yield from _durations(definition)
    yield from _plans(definition)


def _unique_ids(definition: JourneyDefinition) -> Iterator[Finding]:
    seen: set[str] = set()
    for i, step in enumerate(definition.steps):
        if step.id in seen:
            yield ("steps", i, "id"), f"step id {step.id!r} is used twice"
        seen.add(step.id)
    segments: set[str] = set()
    for i, segment in enumerate(definition.segments):
        if segment.id in segments:
            yield ("segments", i, "id"), f"segment id {segment.id!r} is used twice"
        if segment.id == "default":
            yield ("segments", i, "id"), "'default' is the segment of accounts that match none"
        segments.add(segment.id)


def _gotos(definition: JourneyDefinition) -> Iterator[Finding]:
    ids = definition.step_index()
    for i, step in enumerate(definition.steps):
        if isinstance(step, BranchStep):
            for j, rule in enumerate(step.branch):
                if rule.goto not in ids:
                    hint = did_you_mean(rule.goto, ids) or f"; steps: {', '.join(ids)}"
                    yield (
                        ("steps", i, "branch", j, "goto"),
                        f"no step has id {quoted(rule.goto)}{hint}",
                    )


def successors(
    definition: JourneyDefinition, index: int, ids: dict[str, int] | None = None
) -> list[int]:
    """Where control can go after step `index` (len(steps) means the journey ends).
    `ids`: `definition.step_index()`, when the caller asks for many steps."""
    step = definition.steps[index]
    if isinstance(step, EndStep):
        return []
    ids = definition.step_index() if ids is None else ids
    following = [index + 1]
    if isinstance(step, BranchStep):
        targets = [ids[r.goto] for r in step.branch if r.goto in ids]
        always = any(r.when is None for r in step.branch)
        following = targets if always else targets + following
    return following


# The least a loop waits each time round: a loop of one-minute waits would wake its
# journey 1,440 times a day, for every account, and a simulation of it for minutes.
SHORTEST_ROUND = timedelta(hours=1)


def _waits_for(step: Step) -> timedelta | None:
    """How long a step always waits (a wait_until, its timeout: only something new while
    it waits ends it early), or None for a step that may not wait at all."""
    if isinstance(step, WaitStep):
        return step.wait
    if isinstance(step, WaitUntilStep):
        return step.wait_until.timeout
    return None


def _loops_without_wait(definition: JourneyDefinition) -> Iterator[Finding]:
    """A cycle of steps none of which waits would message (or spin) without pause. Only a
    step that always waits counts: a `wait`, and a `wait_until` (its timeout is required,
    and only a payment, a reply or a plan accepted *while* it waits ends it early: each
    time round the loop it waits for a new one), and only when it waits at least
    SHORTEST_ROUND. An offer waits for the answer only when its plan is sent (no
    qualifying plan, an opt-out or a cap skip it at once), so it does not count."""
    waiting = {i: _waits_for(s) for i, s in enumerate(definition.steps)}
    waits = {i for i, w in waiting.items() if w is not None and w >= SHORTEST_ROUND}
    reported: set[frozenset[int]] = set()
    ids = definition.step_index()
    for i, step in enumerate(definition.steps):
        if not isinstance(step, BranchStep) or i in waits:
            continue
        for j, rule in enumerate(step.branch):
            target = ids.get(rule.goto)
            if target is None or target > i:
                continue
            loop = _path_without_wait(definition, target, i, waits, ids)
            if loop is None or frozenset(loop) in reported:
                continue
            reported.add(frozenset(loop))
            names = " -> ".join(definition.steps[k].id for k in [*loop, target])
            short = [
                f"{definition.steps[k].id} {describe_duration(w)}"
                for k in loop
                if (w := waiting[k]) is not None
            ]
            if short:
                said = (
                    f"loop {names} waits less than {describe_duration(SHORTEST_ROUND)} "
                    f"each time round ({', '.join(short)}): a loop would wake the journey "
                    f"again and again; wait at least {describe_duration(SHORTEST_ROUND)} in it"
                )
            else:
                said = (
                    f"loop {names} has no wait step (a wait or a wait_until; an offer's "
                    "wait does not count: it is skipped when no plan qualifies): add a wait "
                    "so customers are not flooded"
                )
            yield ("steps", i, "branch", j, "goto"), said


def _path_without_wait(
    definition: JourneyDefinition, start: int, goal: int, waits: set[int], ids: dict[str, int]
) -> list[int] | None:
    """A path start..goal that passes no waiting step, or None."""
    count = len(definition.steps)
    stack: list[tuple[int, list[int]]] = [(start, [start])]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        if node in waits:
            continue
        if node == goal:
            return path
        if node in seen:
            continue
        seen.add(node)
        for nxt in successors(definition, node, ids):
            if nxt < count:
                stack.append((nxt, [*path, nxt]))
    return None


def _variants(definition: JourneyDefinition) -> Iterator[Finding]:
    known = {s.id for s in definition.segments} | {"default"}
    for path, message in definition.messages():
        for segment in message.variants:
            if segment not in known:
                hint = did_you_mean(segment, known) or f"; segments: {', '.join(sorted(known))}"
                yield ((*path, "variants", segment), f"no segment has id {quoted(segment)}{hint}")
        if message.fallback == message.channel:
            yield (*path, "fallback"), "the fallback must be another channel"


def _policy(definition: JourneyDefinition) -> Iterator[Finding]:
    window = definition.policy.contact_window
    if window.start < EARLIEST_CONTACT:
        yield ("policy", "contact_window", "start"), "the contact window cannot open before 08:00"
    if window.end > LATEST_CONTACT:
        yield ("policy", "contact_window", "end"), "the contact window cannot close after 21:00"
    if window.start >= window.end:
        yield ("policy", "contact_window"), "the contact window must open before it closes"
    if len(set(definition.policy.days)) != len(definition.policy.days):
        yield ("policy", "days"), "a day is listed twice"
    for i, cap in enumerate(definition.policy.caps):
        if cap.per <= timedelta():
            yield ("policy", "caps", i, "per"), "a cap's period must be longer than 0"


def _durations(definition: JourneyDefinition) -> Iterator[Finding]:
    for i, step in enumerate(definition.steps):
        if isinstance(step, WaitStep) and step.wait <= timedelta():
            yield ("steps", i, "wait"), "a wait must be longer than 0"
        if isinstance(step, OfferPlanStep) and step.offer_plan.respond_within <= timedelta():
            yield ("steps", i, "offer_plan", "respond_within"), "must be longer than 0"
        if isinstance(step, WaitUntilStep):
            until = step.wait_until
            if until.timeout <= timedelta():
                yield (
                    ("steps", i, "wait_until", "timeout"),
                    "a wait_until's timeout must be longer than 0",
                )
            twice = sorted({e for j, e in enumerate(until.any_of) if e in until.any_of[:j]})
            for event in twice:
                yield ("steps", i, "wait_until", "any_of"), f"{event!r} is listed twice"


# The shortest time between two due dates of each frequency (a month: February's).
FREQUENCY_GAPS = {
    "weekly": timedelta(days=7),
    "fortnightly": timedelta(days=14),
    "monthly": timedelta(days=28),
}


def _plans(definition: JourneyDefinition) -> Iterator[Finding]:
    """The plan terms and `on_plan`: where a broken plan goes, reminders that come before
    the previous due date, a block nothing can start."""
    terms, on_plan = definition.policy.plans, definition.on_plan
    if terms is not None:
        if len(set(terms.installments)) != len(terms.installments):
            yield ("policy", "plans", "installments"), "a number of installments is listed twice"
        if len(set(terms.every)) != len(terms.every):
            yield ("policy", "plans", "every"), "a frequency is listed twice"
        if terms.first_due_in <= timedelta():
            yield ("policy", "plans", "first_due_in"), "must be longer than 0"
    if on_plan is None:
        return
    ids = definition.step_index()
    if on_plan.broken.goto not in ids:
        goto = on_plan.broken.goto
        hint = did_you_mean(goto, ids) or f"; steps: {', '.join(ids)}"
        yield ("on_plan", "broken", "goto"), f"no step has id {goto!r}{hint}"
    if on_plan.remind_before <= timedelta():
        yield ("on_plan", "remind_before"), "must be longer than 0"
    if on_plan.grace < timedelta():
        yield ("on_plan", "grace"), "must not be negative"
    for every in definition.plan_frequencies():
        gap = FREQUENCY_GAPS[every]
        if on_plan.remind_before >= gap:
            yield (
                ("on_plan", "remind_before"),
                f"{describe_duration(on_plan.remind_before)} before a due date is before the "
                f"previous one on a {every} plan ({describe_duration(gap)} apart at least): "
                "make it shorter",
            )
        if on_plan.grace >= gap:
            yield (
                ("on_plan", "grace"),
                f"a grace of {describe_duration(on_plan.grace)} runs past the next due date on "
                f"a {every} plan ({describe_duration(gap)} apart at least): make it shorter",
            )
    if terms is None and not any(isinstance(s, OfferPlanStep) for s in definition.steps):
        yield (
            ("on_plan",),
            "no plan can start: add plan terms (policy.plans) so customers can choose one "
            "from the portal, or an offer_plan step",
        )


def expression_fields(definition: JourneyDefinition) -> Iterator[tuple[Path, str]]:
    if definition.entry is not None:
        yield ("entry", "when"), definition.entry.when
    terms = definition.policy.plans
    if terms is not None and terms.when is not None:
        yield ("policy", "plans", "when"), terms.when
    for i, segment in enumerate(definition.segments):
        yield ("segments", i, "when"), segment.when
    for i, step in enumerate(definition.steps):
        if isinstance(step, BranchStep):
            for j, rule in enumerate(step.branch):
                if rule.when is not None:
                    yield ("steps", i, "branch", j, "when"), rule.when
        elif isinstance(step, SendStep) and step.send.when is not None:
            yield ("steps", i, "send", "when"), step.send.when


def _expressions(definition: JourneyDefinition) -> Iterator[Finding]:
    context = expression_context(
        sample_account(), sample_account().balance, "default", JourneyFacts()
    )
    segments = [s.id for s in definition.segments] + ["default"]
    for path, source in expression_fields(definition):
        try:
            compiled = compile_expression(source)
        except ExpressionError as exc:
            yield path, str(exc)
            continue
        for name in segment_names(source):
            if name not in segments and path[0] != "segments":
                hint = did_you_mean(name, segments) or f"; segments: {', '.join(segments)}"
                yield path, f"no segment has id {quoted(name)}{hint}"
        try:
            with budgeted():
                compiled(**context)
        except SecurityError as exc:  # too much work for a condition: never at run time
            yield path, f"not allowed in an expression: {exc}"
        except Exception:
            pass


@dataclass(frozen=True)
class TemplateFinding:
    """A template problem: where the definition needs it, and where in the template it is."""

    path: Path
    problem: TemplateProblem | str
    severity: Severity = "error"


def check_templates(
    definition: JourneyDefinition, bundle: TemplateBundle
) -> Iterator[TemplateFinding]:
    """Every reachable template exists, compiles, renders a sample and tells how to opt
    out, in its default version and in each language it has one for."""
    for path, message in definition.messages():
        plan = _sample_plan(message) if isinstance(message, PlanOffer) else None
        thanks = path[0] in ("on_paid", "on_partial_payment") or path == ("on_plan", "thanks")
        payment = SAMPLE_PAYMENT if thanks else None
        schedule = SAMPLE_SCHEDULE if path[0] == "on_plan" else None
        for channel_index, channel in enumerate(message.channels()):
            field = "channel" if channel_index == 0 else "fallback"
            for key, name in _template_names(message):
                where = path + ((key,) if key == "template" else ("variants", key))
                if not bundle.has(name, channel):
                    yield TemplateFinding(where, _missing_template(bundle, name, channel, field))
                    continue
                for language in [None, *bundle.languages(name, channel)]:
                    file = template_file(name, channel, language)
                    found = list(
                        _render_check(
                            where,
                            bundle,
                            channel,
                            file,
                            plan,
                            definition.policy.sms_max_segments,
                            language,
                            payment,
                            schedule,
                        )
                    )
                    yield from found
                    if path[0] == "on_paid" and not any(f.severity == "error" for f in found):
                        yield from _without_payment(where, bundle, channel, file, language)


def _without_payment(
    where: Path, bundle: TemplateBundle, channel: str, file: str, language: str | None
) -> Iterator[TemplateFinding]:
    """`on_paid` also thanks a customer whose balance billing cleared (`account_updated`),
    with no payment to name: a template that reads `payment.amount` unguarded would fail
    for that customer, and the customer who paid would get no thanks."""
    account = sample_account(language)
    context = message_context(
        account, account.balance, channel, _SAMPLE_LINKS, None, None, SAMPLE_FACTS
    )
    context["account"]["attributes"] = AnyAttributes()
    try:
        bundle.render_file(file, channel, context)
    except TemplateProblem as problem:
        yield TemplateFinding(
            where,
            TemplateProblem(
                problem.file,
                problem.line,
                f"{problem.message}, when billing cleared the balance: `payment` is empty "
                "then (there is no payment to name); write {% if payment %}...{% endif %} "
                "around what reads it",
            ),
        )


def _missing_template(bundle: TemplateBundle, name: str, channel: str, field: str) -> str:
    file = template_file(name, channel)
    said = f"template {file} does not exist (needed for {field} {channel})"
    languages = bundle.languages(name, channel)
    if languages:
        versions = ", ".join(template_file(name, channel, lang) for lang in languages)
        return f"{said}: {versions} serve only those languages; every other customer needs it"
    names = sorted({p[0] for f in bundle.sources if (p := split_file_name(f)) and p[2] == channel})
    return said + did_you_mean(name, names)


def _template_names(message: Message) -> list[tuple[str, str]]:
    return [("template", message.template), *list(message.variants.items())]


def _render_check(
    where: Path,
    bundle: TemplateBundle,
    channel: str,
    file: str,
    plan: SamplePlan | None,
    sms_max_segments: int = 2,
    language: str | None = None,
    payment: SamplePayment | None = None,
    schedule: SampleSchedule | None = None,
) -> Iterator[TemplateFinding]:
    if language is not None and not is_language(language):
        yield TemplateFinding(
            where,
            TemplateProblem(
                file,
                1,
                f"{language!r} is not a language code such as es or fr: name the file "
                "NAME.LANG.CHANNEL.j2, e.g. reminder.es.sms.j2",
            ),
        )
        return
    account = sample_account(language)
    context = message_context(
        account, account.balance, channel, _SAMPLE_LINKS, plan, payment, SAMPLE_FACTS, schedule
    )
    context["account"]["attributes"] = AnyAttributes()
    if CHANNELS[channel].opt_out_required:
        context["opt_out"] = _OPT_OUT_MARK
    source = bundle.sources[file]
    if channel == "email" and not source.lstrip("\n").startswith("Subject:"):
        yield TemplateFinding(
            where,
            TemplateProblem(
                file, 1, "an email template starts with 'Subject: ...' then a blank line"
            ),
        )
        return
    try:
        refused = bundle.not_allowed(file)
        unknown = bundle.unknown_names(file)
    except TemplateProblem as problem:
        yield TemplateFinding(where, problem)
        return
    for what, line in refused:
        yield TemplateFinding(where, TemplateProblem(file, line, what))
    includes = bundle.include_problems(file)
    for line, said in includes:
        yield TemplateFinding(where, TemplateProblem(file, line, said))
    for unknown_name, line in unknown:
        hint = did_you_mean(unknown_name, NAMES) or f"; templates may use {', '.join(NAMES)}"
        yield TemplateFinding(
            where, TemplateProblem(file, line, f"unknown name {unknown_name!r}{hint}")
        )
    wrong_fields = list(template_field_problems(bundle, file))
    for line, said in wrong_fields:
        yield TemplateFinding(where, TemplateProblem(file, line, said))
    if refused or includes or unknown or wrong_fields:
        return
    try:
        rendered = bundle.render_file(file, channel, context)
    except TemplateProblem as problem:
        yield TemplateFinding(where, problem)
        return
    links_used = sum(rendered.body.count(url) for url in _SAMPLE_LINKS.values())
    if channel == "sms" and links_used > 1:
        yield TemplateFinding(
            where,
            TemplateProblem(
                file,
                _line_of(bundle.sources[file], "links."),
                f"a text carries one link ({links_used} here): every link lands on the same "
                "page of options, so use one of links.* once",
            ),
        )
    if CHANNELS[channel].opt_out_required and _OPT_OUT_MARK not in rendered.body:
        yield TemplateFinding(
            where,
            TemplateProblem(
                file, 1, "every email and SMS must render {{ opt_out }} so the customer can opt out"
            ),
        )
    elif CHANNELS[channel].opt_out_required and not bundle.opt_out_in_every_branch(file):
        yield TemplateFinding(
            where,
            TemplateProblem(
                file,
                _opt_out_line(bundle.sources[file]),
                "{{ opt_out }} is inside an {% if %} or a loop: some customers would get no way "
                "to opt out; put it outside, on a line of its own",
            ),
        )
    if channel == "sms":
        said = CHANNELS["sms"].opt_out_text(_SAMPLE_LINKS, account.customer.locale)
        text = rendered.body.replace(_OPT_OUT_MARK, said)
        length = sms_length(text)
        if length.segments > sms_max_segments:
            yield TemplateFinding(
                where,
                TemplateProblem(
                    file,
                    1,
                    f"this text is {length.describe()} for the sample account; the journey "
                    f"allows {sms_max_segments} (policy.sms_max_segments): each segment is "
                    "billed, and long texts arrive split",
                ),
                "warning",
            )


@dataclass(frozen=True)
class SampleOption:
    installments: int
    amount: Decimal = Decimal("60.80")
    last_amount: Decimal = Decimal("60.80")

    @property
    def total(self) -> Decimal:
        return self.amount * self.installments


@dataclass(frozen=True)
class SamplePlan:
    """An offer of the right shape for checking a template (the amounts are samples)."""

    options: list[SampleOption]
    first_due: date = date(2028, 3, 8)


@dataclass(frozen=True)
class SamplePayment:
    """A payment of the right shape for checking a thank-you template."""

    reference: str = "pi_SAMPLE0000000000"
    amount: Decimal = Decimal("45.00")
    day: date = date(2028, 3, 8)


SAMPLE_PAYMENT = SamplePayment()
# What a template sees of `journey` when it is checked: a journey a few days in, with a
# part payment (the facts' names are those of expressions, `JourneyFacts`).
SAMPLE_FACTS = JourneyFacts(
    messages_sent=2,
    days_elapsed=3,
    engaged=True,
    last_channel="email",
    step="reminder",
    amount_paid=Decimal("45.00"),
    payments=1,
    replied=False,
).model_dump()


@dataclass(frozen=True)
class SampleInstallment:
    number: int
    due: date
    amount: Decimal = Decimal("60.80")
    paid: Decimal = Decimal("0")
    state: str = "due"

    @property
    def left(self) -> Decimal:
        return self.amount - self.paid


@dataclass(frozen=True)
class SampleSchedule:
    """A plan the customer is on, of the right shape for checking an `on_plan` template."""

    installments: tuple[SampleInstallment, ...] = (
        SampleInstallment(1, date(2028, 3, 8), paid=Decimal("60.80"), state="paid"),
        SampleInstallment(2, date(2028, 4, 8)),
        SampleInstallment(3, date(2028, 5, 8)),
    )
    every: str = "monthly"
    next_number: int | None = 2


SAMPLE_SCHEDULE = SampleSchedule()


def _sample_plan(offer: PlanOffer) -> SamplePlan:
    return SamplePlan([SampleOption(n) for n in sorted(set(offer.installments))])


def _opt_out_line(source: str) -> int:
    return _line_of(source, "opt_out")


def _line_of(source: str, text: str) -> int:
    for number, line in enumerate(source.splitlines(), start=1):
        if text in line:
            return number
    return 1
