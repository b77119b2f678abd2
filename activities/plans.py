"""When a customer chooses a plan: its due dates moved off the days the account's rule
packs close (a weekday, a public holiday where the customer lives) to the plan's
channels. A local activity: the packs and the holiday calendars are read here, outside
the workflow, and the dates it answers are recorded in the journey's history, so a pack
edited later, or a new calendar, never moves a date on replay."""

from __future__ import annotations

import asyncio
from functools import partial

from temporalio import activity

from rapport.compliance.table import RuleBook
from rapport.contract.activities import MovedDue, PlanDates, PlanDatesMoved
from rapport.policy.plans import closed_reason, moved_off


class PlanActivities:
    def __init__(self, rules: RuleBook) -> None:
        self.rules = rules

    @activity.defn(name="plan_due_dates")
    async def plan_due_dates(self, request: PlanDates) -> PlanDatesMoved:
        return await asyncio.to_thread(self._moved, request)  # the calendars are computed

    def _moved(self, request: PlanDates) -> PlanDatesMoved:
        packs = self.rules.for_place(request.country, request.region)
        closed = partial(
            closed_reason, packs=packs, channels=request.channels, region=request.region
        )
        return PlanDatesMoved(
            dues=[
                MovedDue(due=due, moved_from=moved, why=why)
                for due, moved, why in moved_off(request.dates, closed)
            ]
        )
