"""The baseline: a bare Temporal workflow doing the same number of activities and timers
as a journey, with none of Rapport's logic. Benchmarks report Rapport against it."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel
from temporalio import activity, workflow


class BarePlan(BaseModel):
    activities: int
    timers: int


@activity.defn(name="bare_noop")
async def bare_noop(index: int) -> int:
    return index


@workflow.defn(name="BareWorkflow")
class BareWorkflow:
    @workflow.run
    async def run(self, plan: BarePlan) -> int:
        done = 0
        for index in range(max(plan.activities, plan.timers)):
            if index < plan.activities:
                done += await workflow.execute_activity(
                    bare_noop, index, start_to_close_timeout=timedelta(seconds=30))
            if index < plan.timers:
                await workflow.sleep(timedelta(days=1))
        return done
