"""Warnings: what a journey may run with but a designer should look at.

- a step no path reaches (it can never run; `preview` and `diagram` mark it);
- a plan offer that no option of which qualifies for the sample account: at run time
  the offer is skipped with its wait for an answer, and the journey goes on sooner.

(Texts longer than the journey's SMS segment limit are warned about where templates
are checked, in `checks`.)
"""

from __future__ import annotations

from collections.abc import Iterator

from rapport.language.checks import Finding, successors
from rapport.language.durations import describe_duration
from rapport.language.models import JourneyDefinition, OfferPlanStep
from rapport.language.samples import sample_account


def advise(definition: JourneyDefinition) -> Iterator[Finding]:
    yield from _unreachable(definition)
    yield from _plans_that_cannot_qualify(definition)


def reachable(definition: JourneyDefinition) -> set[int]:
    """The positions of the steps some path from the first step reaches."""
    count = len(definition.steps)
    ids = definition.step_index()
    seen: set[int] = set()
    stack = [0] if count else []
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
