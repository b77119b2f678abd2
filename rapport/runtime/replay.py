"""`journey replay-check`: would the journeys on the server replay on this code?

It lists the journeys running and those closed recently, fetches each one's history and
replays it with Temporal's `Replayer` on the installed workflow, with the project's data
converter (encrypted histories decode with the keys this process holds) and the pinned
definitions from the store. A journey that would not replay is named with the reason
and the version it runs on.

What a failure means depends on where the journey runs (docs/operating.md,
"Upgrading"): a journey pinned to another version moves to this one by continuing as
new, not by replay, so a failure there only forbids moving it by hand; an unversioned
journey, or one on this very build id, would be stuck.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from temporalio.client import Client, WorkflowExecution, WorkflowHistory
from temporalio.worker import Replayer

from rapport.contract.names import WORKFLOW_TYPE
from workflows.journey import DelinquencyJourney
from workflows.sandbox import workflow_runner

RECENT = timedelta(days=7)  # closed journeys replayed too: the paths that end one
DEFAULT_LIMIT = 1000
CORE_MESSAGE = re.compile(r'message: "([^"]*)"')  # the core's failure, inside its debug text


@dataclass
class Unreplayable:
    workflow_id: str
    run_id: str
    version: str  # `rapport:3090dc0bbb27`, or `unversioned`
    reason: str

    def line(self) -> str:
        return f"{self.workflow_id} (run {self.run_id}, on {self.version}): {self.reason}"


@dataclass
class ReplayReport:
    checked: int = 0
    failures: list[Unreplayable] = field(default_factory=list)


def listing(now: datetime, recent: timedelta = RECENT) -> str:
    """The visibility query: running journeys and those closed within `recent`."""
    since = (now - recent).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f"WorkflowType = '{WORKFLOW_TYPE}' AND "
        f"(ExecutionStatus = 'Running' OR CloseTime > '{since}')"
    )


async def replay_check(
    client: Client,
    limit: int = DEFAULT_LIMIT,
    workflows: Sequence[type] = (DelinquencyJourney,),
    recent: timedelta = RECENT,
) -> ReplayReport:
    """Replay up to `limit` journeys (the most recently started first) on `workflows`
    (the installed journey; a test hands over a variant)."""
    report = ReplayReport()
    versions: dict[str, str] = {}

    async def histories() -> AsyncIterator[WorkflowHistory]:
        listed = client.list_workflows(listing(datetime.now(UTC), recent), limit=limit)
        async for execution in listed:
            versions[execution.run_id] = version_of(execution)
            yield await client.get_workflow_handle(
                execution.id, run_id=execution.run_id
            ).fetch_history()

    replayer = Replayer(
        workflows=list(workflows),
        workflow_runner=workflow_runner(),
        data_converter=client.data_converter,
        runtime=client.service_client.config.runtime,  # the client's: a quiet one says less
    )
    async with replayer.workflow_replay_iterator(histories()) as results:
        async for result in results:
            report.checked += 1
            if result.replay_failure is not None:
                history = result.history
                report.failures.append(
                    Unreplayable(
                        history.workflow_id,
                        history.run_id,
                        versions.get(history.run_id, "unversioned"),
                        one_line(result.replay_failure),
                    )
                )
    return report


def version_of(execution: WorkflowExecution) -> str:
    """The worker version a journey runs on, as `deployment:build` (Temporal's search
    attribute TemporalWorkerDeploymentVersion), or `unversioned`."""
    for pair in execution.typed_search_attributes:
        if pair.key.name == "TemporalWorkerDeploymentVersion" and pair.value:
            return str(pair.value)
    return "unversioned"


def one_line(error: BaseException) -> str:
    """The core's message (`[TMPRL1100] Nondeterminism error: ...`) without its wrapping."""
    text = " ".join(str(error).split())
    found = CORE_MESSAGE.search(text)
    return f"{type(error).__name__}: {(found.group(1) if found else text)[:300]}"
