"""Warnings: what a journey may run with but a designer should look at.

- a step no path reaches (it can never run; `preview` and `diagram` mark it);
- a plan offer that no option of which qualifies for the sample account: at run time
  the offer is skipped with its wait for an answer, and the journey goes on sooner.

- a condition that fails for the sample account (a text compared with a number, a
  division by zero): at run time a condition that fails counts as false, so it would
  silently never hold.

(Texts longer than the journey's SMS segment limit are warned about where templates
are checked, in `checks`.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

from jinja2.exceptions import SecurityError, UndefinedError

from rapport.language.checks import Finding, expression_fields, successors
from rapport.language.durations import describe_duration
from rapport.language.expressions import ExpressionError, compile_expression
from rapport.language.models import JourneyDefinition, OfferPlanStep
from rapport.language.samples import sample_account
from rapport.language.sandbox import budgeted
from rapport.language.selection import JourneyFacts, expression_context


def advise(definition: JourneyDefinition) -> Iterator[Finding]:
    yield from _unreachable(definition)
    yield from _plans_that_cannot_qualify(definition)
    yield from _conditions_that_fail(definition)


def _conditions_that_fail(definition: JourneyDefinition) -> Iterator[Finding]:
    """Each condition, evaluated for the sample account: one that fails (not one that
    reads a field this account lacks, such as an attribute: `is defined` is for those)
    would count as false for every account like it."""
    account = sample_account()
    context = expression_context(account, account.balance, "default", JourneyFacts())
    for path, source in expression_fields(definition):
        try:
            compiled = compile_expression(source)
        except ExpressionError:
            continue  # an error of its own
        try:
            with budgeted():
                compiled(**context)
        except (SecurityError, UndefinedError):
            continue  # too much work is an error of its own; a missing field is expected
        except Exception as exc:
            yield (
                path,
                f"fails for the sample account: {_failure(exc)}; at run time a condition "
                "that fails counts as false, so it would never hold for such accounts",
            )


_UNSUPPORTED = re.compile(r"'(.+)' not supported between instances of '(\w+)' and '(\w+)'")
_KINDS = {
    "str": "a text",
    "int": "a number",
    "float": "a number",
    Decimal.__name__: "an amount",
    "bool": "true or false",
    "NoneType": "an empty value",
    "list": "a list",
    "dict": "a group of values",
}


def _failure(exc: Exception) -> str:
    if isinstance(exc, ZeroDivisionError):
        return "it divides by zero"
    unsupported = _UNSUPPORTED.search(str(exc))
    if isinstance(exc, TypeError) and unsupported:
        operator, left, right = unsupported.groups()
        kinds = [_KINDS.get(kind, kind) for kind in (left, right)]
        return f"{operator!r} between {kinds[0]} and {kinds[1]}"
    return str(exc)


def reachable(definition: JourneyDefinition) -> set[int]:
    """The positions of the steps some path from the first step reaches (a broken plan's
    `goto` is reached from wherever a plan can start)."""
    count = len(definition.steps)
    ids = definition.step_index()
    seen: set[int] = set()
    stack = [0] if count else []
    broken = definition.on_plan.broken.goto if definition.on_plan else None
    if broken is not None and broken in definition.step_index():
        stack.append(definition.step_index()[broken])
    while stack:
        index = stack.pop()
        if index in seen or index >= count:
            continue
        seen.add(index)
        stack.extend(successors(definition, index, ids))
    return seen


def _unreachable(definition: JourneyDefinition) -> Iterator[Finding]:
    reached = reachable(definition)
    for index, step in enumerate(definition.steps):
        if index not in reached:
            yield (
                ("steps", index),
                f"no path reaches step {step.id!r}: the steps before it end the journey or "
                "jump past it; add a goto to it or remove it",
            )


def _plans_that_cannot_qualify(definition: JourneyDefinition) -> Iterator[Finding]:
    """An option of n installments needs a balance of at least n x min_installment (each
    installment, the last included, is at least the minimum)."""
    account = sample_account()
    for index, step in enumerate(definition.steps):
        if not isinstance(step, OfferPlanStep):
            continue
        offer = step.offer_plan
        fewest = min(offer.installments)
        needed = offer.min_installment * fewest
        if account.balance < needed:
            yield (
                ("steps", index, "offer_plan", "min_installment"),
                f"no plan qualifies for the sample account's balance of {account.balance} "
                f"{account.currency}: {fewest} installments of at least "
                f"{offer.min_installment} need a balance of {needed}; for such accounts "
                f"the offer and its {describe_duration(offer.respond_within)} wait for an "
                "answer are skipped and the next step comes that much sooner",
            )
