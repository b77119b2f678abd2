"""The baseline: a bare Temporal workflow doing the same number of activities and timers
as a journey, with none of Rapport's logic. Benchmarks report Rapport against it."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import activity, workflow
from temporalio.common import SearchAttributeKey

STEP = SearchAttributeKey.for_keyword("JourneyStep")


class BarePlan(BaseModel):
    activities: int
    timers: int
    timer_seconds: float = 86400.0
    upserts: int = 0  # search-attribute upserts, as the operator view makes


@activity.defn(name="bare_noop")
async def bare_noop(index: int) -> int:
    return index


@workflow.defn(name="BareWorkflow")
class BareWorkflow:
    @workflow.run
    async def run(self, plan: BarePlan) -> int:
        done = 0
        for index in range(plan.upserts):
            workflow.upsert_search_attributes([STEP.value_set(f"step{index}")])
        for index in range(max(plan.activities, plan.timers)):
            if index < plan.activities:
                done += await workflow.execute_activity(
                    bare_noop, index, start_to_close_timeout=timedelta(seconds=30))
            if index < plan.timers:
                await workflow.sleep(timedelta(seconds=plan.timer_seconds))
        return done
