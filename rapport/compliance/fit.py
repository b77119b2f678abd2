"""Does a journey's policy keep the law of every place it can reach?

A journey reaches the accounts of its `countries` (absent: the United States). A rule
of a country-wide pack of one of those countries binds every account of that country
the journey reaches: a policy looser than it is an error naming the rule and its
citation. A rule of a regional pack binds only the accounts of that region: a looser
policy is a warning naming the pack.

What can be compared with a policy is compared: windows (with their days), closed
weekdays, and caps. Public holidays, cooldowns and duties have no counterpart in a
policy; they are the engine's to keep when it sends (docs/compliance.md).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path as FsPath
from typing import Literal

from rapport.compliance.packs import Rule, RulePack
from rapport.compliance.rules import VOICE_FLOOR
from rapport.compliance.table import RuleBook
from rapport.language.models import Cap, JourneyDefinition
from rapport.language.problems import Path, Problem, format_path
from rapport.language.types import WEEKDAYS, Weekday
from rapport.language.yaml_source import load_yaml

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Finding:
    path: Path
    message: str
    severity: Severity
    pack: str
    rule: str


def check_journey(definition: JourneyDefinition, book: RuleBook) -> list[Finding]:
    """Every rule of the packs the journey can reach that its policy is looser than."""
    used = _channels_used(definition)
    findings: list[Finding] = []
    for pack in book.for_countries(definition.reach()):
        severity: Severity = "warning" if pack.regional else "error"
        for rule in pack.rules:
            if not rule.governs() & used:
                continue
            for path, what in _looser(definition, rule, used):
                findings.append(
                    Finding(path, _message(pack, rule, what), severity, pack.pack, rule.id)
                )
    return findings


def _message(pack: RulePack, rule: Rule, what: str) -> str:
    where = pack.applies_to.label()
    if pack.regional:
        return (
            f"{what}: looser than pack {pack.pack} ({rule.citation}: {rule.note}) for "
            f"accounts in {where}"
        )
    return f"{what}: looser than {rule.citation} ({rule.note}) [pack {pack.pack}, rule {rule.id}]"


def _channels_used(definition: JourneyDefinition) -> frozenset[str]:
    return frozenset(c for _, message in definition.messages() for c in message.channels())


def _looser(
    definition: JourneyDefinition, rule: Rule, used: frozenset[str]
) -> Iterator[tuple[Path, str]]:
    policy = definition.policy
    if rule.window is not None:
        days = set(policy.days) & set(rule.window.days or policy.days)
        window = policy.contact_window
        if days and window.start < rule.window.start:
            yield (
                ("policy", "contact_window", "start"),
                f"the window opens at {window.start:%H:%M} ({', '.join(_ordered(days))})",
            )
        if days and window.end > rule.window.end:
            yield (
                ("policy", "contact_window", "end"),
                f"the window closes at {window.end:%H:%M} ({', '.join(_ordered(days))})",
            )
    if rule.closed is not None:
        days = set(policy.days) & set(rule.closed.days)
        if days:
            yield ("policy", "days"), f"the journey sends on {', '.join(_ordered(days))}"
    if rule.cap is not None:
        yield from _cap_looser(policy.caps, rule, used)


def _cap_looser(caps: list[Cap], rule: Rule, used: frozenset[str]) -> Iterator[tuple[Path, str]]:
    """At most how many messages on the rule's channels the policy lets through in any
    `per` of the rule: through an `all` cap, or the sum of each channel's own bound."""
    assert rule.cap is not None
    limit, period = rule.cap.max, rule.cap.per
    channels = sorted(rule.governs() & used)
    everything = _bound(caps, "all", period, explicit_only=True)
    if everything is not None and everything[0] <= limit:
        return
    bounds = {channel: _bound(caps, channel, period) for channel in channels}
    if all(b is not None for b in bounds.values()):
        total = sum(b[0] for b in bounds.values() if b is not None)
        if total <= limit:
            return
        loosest = max((b for b in bounds.values() if b is not None), key=lambda b: b[0])
        yield (
            loosest[1],
            f"the policy allows up to {total} messages on {', '.join(channels)} in {_days(period)}",
        )
        return
    missing = ", ".join(c for c, b in bounds.items() if b is None)
    yield ("policy", "caps"), f"no cap limits {missing} to {limit} in {_days(period)}"


def _bound(
    caps: list[Cap], channel: str, period: timedelta, explicit_only: bool = False
) -> tuple[int, Path] | None:
    """The fewest messages on `channel` the caps allow in any window of `period`, and the
    cap that says so; None when no cap limits the channel. A cap over a shorter period
    allows its `max` in each of the stretches that cover `period`. Calls always have the
    engine's floor, unless the designer wrote a looser cap of their own."""
    best: tuple[int, Path] | None = None
    for i, cap in enumerate(caps):
        if cap.channel not in (channel, "all") or (explicit_only and cap.channel != "all"):
            continue
        allowed = cap.max * max(1, math.ceil(period / cap.per))
        if best is None or allowed < best[0]:
            best = (allowed, ("policy", "caps", i))
    if best is None and channel == VOICE_FLOOR.channel and not explicit_only:
        allowed = VOICE_FLOOR.max * max(1, math.ceil(period / VOICE_FLOOR.per))
        best = (allowed, ("policy", "caps"))
    return best


def _days(period: timedelta) -> str:
    return f"{period.days} days" if period % timedelta(days=1) == timedelta() else str(period)


def _ordered(days: set[Weekday]) -> list[str]:
    return [d for d in WEEKDAYS if d in days]


def located(
    file: FsPath, definition: JourneyDefinition, book: RuleBook
) -> tuple[list[Problem], list[Problem]]:
    """The findings for a definition file, as problems with their lines: (errors,
    warnings), each printed as `FILE:LINE: field: [warning: ]message`."""
    findings = check_journey(definition, book)
    if not findings:
        return [], []
    lines = load_yaml(file).lines
    errors: list[Problem] = []
    warnings: list[Problem] = []
    for finding in findings:
        line = lines.line_of(finding.path)
        if finding.severity == "error":
            errors.append(Problem(str(file), line, format_path(finding.path), finding.message))
        else:
            warnings.append(
                Problem(str(file), line, format_path(finding.path), finding.message, "warning")
            )
    return errors, warnings
