"""`journey preview`: the messages a journey would send one account, as it would get them.

The account's segment chooses the template variants and its locale the language's
version of each template; a channel the account cannot be reached on (no consent, no
address) shows the message on its fallback, as the engine would send it. Any of these
can be forced (`segment`, `locale`, `channel`) to read the other messages; steps no
path reaches are marked, texts show their billed segments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from rapport.channels.sms import sms_length
from rapport.contract.records import PlanOffered, PlanView, Receipt
from rapport.language.account import Account
from rapport.language.advice import reachable
from rapport.language.checks import SAMPLE_FACTS, SAMPLE_PAYMENT
from rapport.language.context import PaidPayment, message_context
from rapport.language.loader import LoadedJourney, templates_dir
from rapport.language.models import (
    STEP_KINDS,
    JourneyDefinition,
    Message,
    OfferPlanStep,
    PlanOffer,
    SendAction,
    SendStep,
    WaitUntilStep,
    is_transactional,
)
from rapport.language.problems import Path, did_you_mean
from rapport.language.selection import (
    DEFAULT_SEGMENT,
    JourneyFacts,
    choose_segment,
    expression_context,
)
from rapport.language.templates import TemplateProblem, template_file
from rapport.money import installments
from rapport.policy.installments import new_plan, take_payment
from rapport.policy.plans import due_dates, plan_options
from rapport.runtime.settings import load_settings
from rapport.security.links import portal_links

BLOCKS = ("on_paid", "on_partial_payment")
PREVIEW_PAYMENT = "pi_PREVIEW"


class PreviewError(ValueError):
    """What the designer asked for does not exist; the message says what does."""


@dataclass(frozen=True)
class Options:
    step: str | None = None
    segment: str | None = None  # None: the account's own
    locale: str | None = None  # None: the account's own
    channel: str | None = None  # None: the channel the engine would use for the account


@dataclass
class Shown:
    label: str
    channel: str
    template: str
    file: str
    notes: list[str] = field(default_factory=list)
    subject: str | None = None
    body: str = ""
    failed: bool = False  # the template cannot be rendered for this account


class Preview(str):
    """The preview's text; `failed` when a message cannot be rendered for the account."""

    failed: bool = False


def preview(journey: LoadedJourney, account: Account, options: Options) -> Preview:
    definition = journey.definition
    account = _with_locale(account, options.locale)
    segment = _segment(definition, account, options.segment)
    labels = _labels(definition)
    if options.step is not None and options.step not in labels:
        known = list(labels)
        hint = did_you_mean(options.step, known) or f"; steps and blocks: {', '.join(known)}"
        raise PreviewError(f"{journey.path}: no step or block has id {options.step!r}{hint}")
    header = (
        f"journey {definition.id} v{definition.version}, account {account.account_id}, "
        f"segment {segment}, locale {account.customer.locale}"
    )
    blocks = [header]
    shown_any = failed = False
    for path, message in definition.messages():
        label = _label(definition, path)
        if options.step is not None and label != options.step:
            continue
        shown = _render(journey, account, segment, path, label, message, options)
        if shown is not None:
            blocks.append(_format(shown))
            shown_any, failed = True, failed or shown.failed
    if not shown_any:
        blocks.append(_nothing(definition, options))
    result = Preview("\n\n".join(blocks))
    result.failed = failed
    return result


def _with_locale(account: Account, locale: str | None) -> Account:
    if locale is None:
        return account
    data = account.model_dump(mode="json")
    data["customer"]["locale"] = locale
    return Account.model_validate(data)  # an unknown locale is refused in plain words


def _segment(definition: JourneyDefinition, account: Account, forced: str | None) -> str:
    if forced is None:
        context = expression_context(account, account.balance, DEFAULT_SEGMENT, JourneyFacts())
        return choose_segment(definition, context)[0]
    known = [s.id for s in definition.segments] + [DEFAULT_SEGMENT]
    if forced not in known:
        hint = did_you_mean(forced, known) or f"; segments: {', '.join(known)}"
        raise PreviewError(f"no segment has id {forced!r}{hint}")
    return forced


def _labels(definition: JourneyDefinition) -> dict[str, int | None]:
    found: dict[str, int | None] = {step.id: i for i, step in enumerate(definition.steps)}
    for block in BLOCKS:
        if getattr(definition, block) is not None:
            found[block] = None
    if definition.on_plan is not None:
        found |= {f"on_plan.{key}": None for key, _ in definition.on_plan.messages()}
    return found


def _label(definition: JourneyDefinition, path: Path) -> str:
    if path[0] == "steps":
        return definition.steps[int(path[1])].id
    if path[0] == "on_plan":
        return f"on_plan.{path[1]}"
    return str(path[0])


def sample_plan(
    definition: JourneyDefinition, account: Account, today: date, paid_first: bool = False
) -> PlanView | None:
    """The plan an `on_plan` message shows in a preview: the first choice the journey's
    terms (else its first offer) give this account's balance, from today; nothing paid
    yet, or (for the thanks) the first installment."""
    terms, offers = definition.policy.plans, definition.messages()
    if terms is not None:
        counts, minimum, first_in = terms.installments, terms.min_installment, terms.first_due_in
    else:
        offer = next((m for _, m in offers if isinstance(m, PlanOffer)), None)
        if offer is None:
            return None
        counts, minimum, first_in = offer.installments, offer.min_installment, offer.respond_within
    options = plan_options(account.balance, counts, minimum, account.currency)
    on_plan = definition.on_plan
    if not options or on_plan is None:
        return None
    count, every = options[0].installments, definition.plan_frequencies()[0]
    dates = due_dates(today + timedelta(days=first_in.days), count, every)
    amounts = installments(account.balance, count, account.currency)
    moment = datetime.combine(today, time(12))
    plan = new_plan(
        1, [(d, None, None) for d in dates], amounts, every, moment, moment, on_plan.remind_before
    )
    if paid_first:
        plan = take_payment(plan, PREVIEW_PAYMENT, amounts[0], today)
    return PlanView.of(plan, moment, on_plan.grace)


def _channel(account: Account, message: Message, forced: str | None) -> tuple[str, list[str]]:
    """The channel the message goes on for this account, and why it is not the first."""
    if forced is not None:
        note = [] if forced == message.channel else [f"the fallback of {message.channel}"]
        return forced, note
    notes: list[str] = []
    for channel in message.channels():
        reason = _unusable(account, channel)
        if reason is None:
            return channel, [f"{note}, so on its fallback, {channel}" for note in notes]
        notes.append(f"{channel}: {reason}")
    notes.append("nothing is sent to this account: it is skipped")
    return message.channel, notes


def _unusable(account: Account, channel: str) -> str | None:
    """As the engine decides it at the start of a journey (see workflows/state.py)."""
    if not account.consent.get(channel, False):
        return "no consent"
    if not account.address_for(channel):
        return "no address"
    return None


def _render(
    journey: LoadedJourney,
    account: Account,
    segment: str,
    path: Path,
    label: str,
    message: Message,
    options: Options,
) -> Shown | None:
    definition = journey.definition
    if options.channel is not None and options.channel not in message.channels():
        return None
    channel, notes = _channel(account, message, options.channel)
    if path[0] == "steps" and int(path[1]) not in reachable(definition):
        notes.insert(0, "UNREACHABLE: no path reaches this step, it never runs")
    if isinstance(message, SendAction) and message.when is not None:
        notes.append(f"only when {message.when}")
    if is_transactional(message, on_paid=label == "on_paid"):
        notes.append(
            "transactional: goes without waiting for min_gap or the caps; the contact "
            "window and consent still hold"
        )
    template = message.template_for(segment)
    plan = None
    if isinstance(message, PlanOffer):
        now = datetime.now(UTC)
        due = (now + message.respond_within).date()
        plan = PlanOffered.of(account.balance, message, due, currency=account.currency)
        if plan is None:
            notes.append(
                f"no plan qualifies for a balance of {account.balance}: the offer and its "
                "wait are skipped"
            )
            return Shown(label, channel, template, "-", notes)
    schedule: PlanView | None = None
    payment: PaidPayment | None = None
    if path[0] == "on_plan":
        today, thanks = datetime.now(UTC).date(), path[1] == "thanks"
        schedule = sample_plan(definition, account, today, paid_first=thanks)
        if schedule is None:
            notes.append(f"no plan qualifies for a balance of {account.balance}: never sent")
            return Shown(label, channel, template, "-", notes)
        if thanks:
            first = schedule.installments[0].amount
            payment = Receipt(reference=PREVIEW_PAYMENT, amount=first, day=today)
    settings = load_settings()
    links = portal_links(settings.portal_url, settings.signer().token("respond", label), channel)
    facts = _facts(label)
    if label in BLOCKS:
        payment = SAMPLE_PAYMENT
        notes.append(
            f"thanking for a sample payment of {SAMPLE_PAYMENT.amount}, "
            f"reference {SAMPLE_PAYMENT.reference}"
        )
    context = message_context(
        account, account.balance, channel, links, plan, payment, facts, schedule
    )
    locale = account.customer.locale
    file = journey.templates.file_for(template, channel, locale)
    if journey.templates.reads(template_file(template, channel), "journey"):
        notes.append(
            f"as if journey.payments is {facts['payments']}, journey.amount_paid "
            f"{facts['amount_paid']}, journey.replied {str(facts['replied']).lower()}"
        )
    try:
        rendered = journey.templates.render(template, channel, context, locale)
    except TemplateProblem as problem:  # valid for the sample, not for this account
        where = templates_dir(journey.path) / problem.file
        notes.append(
            f"NOT SENT to this account: {where}:{problem.line}: {problem.message} (the "
            "engine skips it as rejected)"
        )
        return Shown(label, channel, template, file, notes, failed=True)
    if channel == "sms":
        length = sms_length(rendered.body)
        limit = definition.policy.sms_max_segments
        over = f", over the journey's limit of {limit}" if length.segments > limit else ""
        notes.append(length.describe() + over)
    return Shown(label, channel, template, file, notes, rendered.subject, rendered.body)


def _facts(label: str) -> dict[str, Any]:
    """`journey.*` for a preview: the validator's sample (a journey a few days in, with
    one part payment), at this step."""
    return {**SAMPLE_FACTS, "step": label}


def _format(shown: Shown) -> str:
    notes = "".join(f"\n    ({note})" for note in shown.notes)
    lines = [f"--- {shown.label}: {shown.channel}, template {shown.template} [{shown.file}]{notes}"]
    if shown.subject is not None:
        lines.append(f"Subject: {shown.subject}")
    if shown.body:
        lines += ["", shown.body]
    return "\n".join(lines)


def _nothing(definition: JourneyDefinition, options: Options) -> str:
    if options.step is not None and options.step in definition.step_index():
        step = definition.steps[definition.step_index()[options.step]]
        if isinstance(step, WaitUntilStep):
            return (
                f"(step {options.step!r} is a wait_until: it sends nothing; it waits "
                f"{step.wait_until.said()})"
            )
        if not isinstance(step, SendStep | OfferPlanStep):
            kind = next(k for k in STEP_KINDS if hasattr(step, k))
            return f"(step {options.step!r} is a {kind}: it sends nothing)"
    if options.channel is not None:
        return f"(no message of this journey goes on {options.channel})"
    return "(this journey sends nothing)"
