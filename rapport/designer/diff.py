"""`journey diff OLD NEW`: what changed between two versions of a journey, in the
designer's words: steps added, removed, moved and changed (a wait's duration, a
branch's conditions and targets, a message's channel, template and variants), the
policy, segments, the blocks that run at any time, and each template's text.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from datetime import time, timedelta
from typing import Any

from rapport.language.durations import describe_duration as duration
from rapport.language.loader import LoadedJourney, templates_dir
from rapport.language.models import (
    STEP_KINDS,
    BranchStep,
    EndStep,
    HandoffStep,
    JourneyDefinition,
    Message,
    Notice,
    OfferPlanStep,
    PlanOffer,
    Policy,
    SendAction,
    SendStep,
    Step,
    WaitStep,
    WaitUntilStep,
    is_transactional,
)
from rapport.language.templates import template_file


def journey_diff(old: LoadedJourney, new: LoadedJourney) -> str:
    before, after = old.definition, new.definition
    sections = [
        ("journey", list(_journey(before, after))),
        ("policy", list(_policy(before.policy, after.policy))),
        ("segments", list(_segments(before, after))),
        ("steps", list(_steps(before, after))),
        ("at any time", list(_notices(before, after))),
        ("templates", list(_templates(old, new))),
    ]
    head = f"{old.path} ({before.id} v{before.version}) -> {new.path} ({after.id} v{after.version})"
    lines = [head]
    for title, changes in sections:
        if changes:
            lines += ["", f"{title}:", *[f"  {change}" for change in changes]]
    if len(lines) == 1:
        lines.append("no differences")
    return "\n".join(lines) + "\n"


def _was(what: str, old: Any, new: Any) -> Iterator[str]:
    if old != new:
        yield f"{what}: {_say(old)} -> {_say(new)}"


def _say(value: Any) -> str:
    if value is None or value == "":
        return "none"
    if isinstance(value, timedelta):
        return duration(value)
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, list | tuple):
        return ", ".join(_say(v) for v in value) or "none"
    if isinstance(value, str) and (" " in value or not value):
        return repr(value)
    return str(value)


def _journey(old: JourneyDefinition, new: JourneyDefinition) -> Iterator[str]:
    yield from _was("id", old.id, new.id)
    yield from _was("version", old.version, new.version)
    yield from _was("name", old.name, new.name)
    yield from _was("description", old.description.strip(), new.description.strip())
    old_entry, new_entry = old.entry, new.entry
    yield from _was(
        "entry when", old_entry.when if old_entry else None, new_entry.when if new_entry else None
    )
    yield from _was(
        "entry priority",
        old_entry.priority if old_entry else None,
        new_entry.priority if new_entry else None,
    )


def _policy(old: Policy, new: Policy) -> Iterator[str]:
    def window(p: Policy) -> str:
        return f"{_say(p.contact_window.start)}-{_say(p.contact_window.end)}"

    yield from _was("contact window", window(old), window(new))
    yield from _was("days", old.days, new.days)
    old_caps = [f"{c.channel}: at most {c.max} per {duration(c.per)}" for c in old.caps]
    new_caps = [f"{c.channel}: at most {c.max} per {duration(c.per)}" for c in new.caps]
    for cap in new_caps:
        if cap not in old_caps:
            yield f"cap added: {cap}"
    for cap in old_caps:
        if cap not in new_caps:
            yield f"cap removed: {cap}"
    yield from _was("min_gap", old.min_gap, new.min_gap)
    yield from _was("on_cap", old.on_cap, new.on_cap)
    yield from _was("sms_max_segments", old.sms_max_segments, new.sms_max_segments)


def _segments(old: JourneyDefinition, new: JourneyDefinition) -> Iterator[str]:
    before = {s.id: s.when for s in old.segments}
    after = {s.id: s.when for s in new.segments}
    for segment, when in after.items():
        if segment not in before:
            yield f"added {segment}: when {when}"
        elif before[segment] != when:
            yield f"{segment}: when {before[segment]} -> {when}"
    for segment in before:
        if segment not in after:
            yield f"removed {segment}"
    common_old = [s for s in before if s in after]
    common_new = [s for s in after if s in before]
    if common_old != common_new:
        yield f"order (the first match wins): {', '.join(common_old)} -> {', '.join(common_new)}"


def _steps(old: JourneyDefinition, new: JourneyDefinition) -> Iterator[str]:
    before = {s.id: s for s in old.steps}
    after = {s.id: s for s in new.steps}
    for index, step in enumerate(new.steps):
        if step.id not in before:
            where = f"after {new.steps[index - 1].id}" if index else "first"
            yield f"added {step.id} ({where}): {_summary(step)}"
    for step in old.steps:
        if step.id not in after:
            yield f"removed {step.id}: {_summary(step)}"
    common_old = [s.id for s in old.steps if s.id in after]
    common_new = [s.id for s in new.steps if s.id in before]
    if common_old != common_new:
        yield f"order: {', '.join(common_old)} -> {', '.join(common_new)}"
    for step in new.steps:
        if step.id in before:
            for change in _step(before[step.id], step):
                yield f"{step.id}: {change}"


def _kind(step: Step) -> str:
    return next(k for k in STEP_KINDS if hasattr(step, k))


def _summary(step: Step) -> str:
    if isinstance(step, SendStep):
        return f"send {_message(step.send)}"
    if isinstance(step, WaitStep):
        return f"wait {duration(step.wait)}"
    if isinstance(step, WaitUntilStep):
        return f"wait {step.wait_until.said()}"
    if isinstance(step, BranchStep):
        rules = "; ".join(f"if {r.when or 'always'} go to {r.goto}" for r in step.branch)
        return f"branch: {rules}"
    if isinstance(step, OfferPlanStep):
        offer = step.offer_plan
        return (
            f"offer a plan by {_message(offer)}, {_say(offer.installments)} installments of "
            f"at least {offer.min_installment}, answer within {duration(offer.respond_within)}"
        )
    if isinstance(step, HandoffStep):
        return f"hand off to queue {step.handoff.queue}"
    if isinstance(step, EndStep):
        return f"end: {step.end}"
    return _kind(step)


def _message(message: Message, on_paid: bool = False) -> str:
    fallback = f", else {message.fallback}" if message.fallback else ""
    at_once = ", transactional" if is_transactional(message, on_paid) else ""
    return f"{message.channel}{fallback}, template {message.template}{at_once}"


def _step(old: Step, new: Step) -> Iterator[str]:
    if _kind(old) != _kind(new):
        yield f"was {_summary(old)}; now {_summary(new)}"
        return
    if isinstance(old, SendStep) and isinstance(new, SendStep):
        yield from _message_changes(old.send, new.send)
    elif isinstance(old, WaitStep) and isinstance(new, WaitStep):
        yield from _was("wait", old.wait, new.wait)
    elif isinstance(old, WaitUntilStep) and isinstance(new, WaitUntilStep):
        yield from _was("waits until", old.wait_until.any_of, new.wait_until.any_of)
        yield from _was("timeout", old.wait_until.timeout, new.wait_until.timeout)
    elif isinstance(old, BranchStep) and isinstance(new, BranchStep):
        yield from _branch(old, new)
    elif isinstance(old, OfferPlanStep) and isinstance(new, OfferPlanStep):
        yield from _message_changes(old.offer_plan, new.offer_plan)
    elif isinstance(old, HandoffStep) and isinstance(new, HandoffStep):
        yield from _was("queue", old.handoff.queue, new.handoff.queue)
    elif isinstance(old, EndStep) and isinstance(new, EndStep):
        yield from _was("ends", old.end, new.end)


def _message_changes(old: Message, new: Message, on_paid: bool = False) -> Iterator[str]:
    yield from _was("channel", old.channel, new.channel)
    yield from _was("fallback", old.fallback, new.fallback)
    yield from _was("template", old.template, new.template)
    yield from _was(
        "transactional (skips min_gap and caps)",
        "yes" if is_transactional(old, on_paid) else "no",
        "yes" if is_transactional(new, on_paid) else "no",
    )
    for segment in sorted(set(old.variants) | set(new.variants)):
        yield from _was(
            f"segment {segment}'s template",
            old.variants.get(segment),
            new.variants.get(segment),
        )
    if isinstance(old, SendAction) and isinstance(new, SendAction):
        yield from _was("only when", old.when, new.when)
    if isinstance(old, PlanOffer) and isinstance(new, PlanOffer):
        yield from _was("installments", old.installments, new.installments)
        yield from _was("min_installment", old.min_installment, new.min_installment)
        yield from _was("respond_within", old.respond_within, new.respond_within)


def _branch(old: BranchStep, new: BranchStep) -> Iterator[str]:
    for index in range(max(len(old.branch), len(new.branch))):
        label = f"rule {index + 1}"
        if index >= len(old.branch):
            rule = new.branch[index]
            yield f"{label} added: if {rule.when or 'always'} go to {rule.goto}"
        elif index >= len(new.branch):
            rule = old.branch[index]
            yield f"{label} removed: if {rule.when or 'always'} go to {rule.goto}"
        else:
            yield from _was(f"{label} condition", old.branch[index].when, new.branch[index].when)
            yield from _was(f"{label} goes to", old.branch[index].goto, new.branch[index].goto)


def _notices(old: JourneyDefinition, new: JourneyDefinition) -> Iterator[str]:
    for key in ("on_paid", "on_partial_payment"):
        before: Notice | None = getattr(old, key)
        after: Notice | None = getattr(new, key)
        if before is None and after is not None:
            yield f"{key} added: send {_message(after.send, key == 'on_paid')}"
        elif before is not None and after is None:
            yield f"{key} removed: was send {_message(before.send, key == 'on_paid')}"
        elif before is not None and after is not None:
            for change in _message_changes(before.send, after.send, key == "on_paid"):
                yield f"{key}: {change}"


def _templates(old: LoadedJourney, new: LoadedJourney) -> Iterator[str]:
    """Each template file added, removed or changed (its text diff); a message that now
    uses another template shows the text diff between the two files too."""
    before, after = old.templates.sources, new.templates.sources
    for file in sorted(set(before) | set(after)):
        if file not in before:
            yield f"added {file}"
        elif file not in after:
            yield f"removed {file} (no message uses it now)"
        elif before[file] != after[file]:
            yield f"changed {file}:"
            yield from _text_diff(old, file, new, file)
    for old_file, new_file in _renamed(old.definition, new.definition):
        if old_file in before and new_file in after:
            if before[old_file] == after[new_file]:
                yield f"{old_file} -> {new_file}: the same text"
            else:
                yield f"{old_file} -> {new_file}:"
                yield from _text_diff(old, old_file, new, new_file)


def _text_diff(
    old: LoadedJourney, old_file: str, new: LoadedJourney, new_file: str
) -> Iterator[str]:
    lines = difflib.unified_diff(
        old.templates.sources[old_file].splitlines(),
        new.templates.sources[new_file].splitlines(),
        str(templates_dir(old.path) / old_file),
        str(templates_dir(new.path) / new_file),
        lineterm="",
    )
    yield from (f"  {line}" for line in lines)


def _renamed(old: JourneyDefinition, new: JourneyDefinition) -> list[tuple[str, str]]:
    """(old file, new file) where a message of the same step now names another template."""
    before = {_where(old, path): m for path, m in old.messages()}
    pairs: list[tuple[str, str]] = []
    for path, message in new.messages():
        was = before.get(_where(new, path))
        if was is None:
            continue
        names = [(was.template, message.template)] + [
            (was.variants[s], message.variants[s]) for s in was.variants if s in message.variants
        ]
        for channel in message.channels():
            if channel not in was.channels():
                continue
            for old_name, new_name in names:
                pair = (template_file(old_name, channel), template_file(new_name, channel))
                if old_name != new_name and pair not in pairs:
                    pairs.append(pair)
    return pairs


def _where(definition: JourneyDefinition, path: tuple[str | int, ...]) -> str:
    return definition.steps[int(path[1])].id if path[0] == "steps" else str(path[0])
