"""Run a scenario on the time-skipping test server through the real workflow."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.client import (
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowHistory,
    WorkflowUpdateFailedError,
)
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from rapport.billing.sources import BalanceSource
from rapport.compliance.table import RULES_FOLDER, RuleBook, load_rulebook
from rapport.contract.journey import JourneyStatus, summary
from rapport.contract.names import ACCEPT_PLAN_UPDATE, workflow_id
from rapport.contract.payloads import AcceptPlan
from rapport.contract.records import AcceptedPlan
from rapport.contract.replies import reply_meaning
from rapport.contract.search_attributes import starting
from rapport.contract.signals import SIGNALS
from rapport.language.problems import DefinitionError
from rapport.providers.base import Provider
from rapport.providers.outbox import Capture
from rapport.runtime.servers import start_time_skipping
from rapport.runtime.settings import load_settings
from rapport.runtime.workers import EngineParts, build_worker
from rapport.simulation.scenario import SMS_REPLY, LoadedScenario, TimedEvent
from rapport.simulation.start import StartInPast
from workflows.journey import DelinquencyJourney
from workflows.state import JourneyInput


class ScenarioError(Exception):
    """A scenario that cannot run, with a message for the designer."""


@dataclass
class SimulationRun:
    scenario: LoadedScenario
    start: datetime  # UTC
    status: JourneyStatus
    finished: bool
    capture: Capture
    events: list[dict[str, Any]]
    history: WorkflowHistory


async def simulate(scenario: LoadedScenario) -> SimulationRun:
    env = await start_time_skipping()
    async with env:
        return await simulate_on(env, scenario)


async def simulate_on(
    env: WorkflowEnvironment,
    scenario: LoadedScenario,
    channels: Mapping[str, Provider] | None = None,
    balance_source: BalanceSource | None = None,
) -> SimulationRun:
    """Run `scenario` on `env`. Messages are captured in memory unless `channels`
    routes some of them elsewhere (tests use real servers on loopback)."""
    capture = Capture()
    parts = EngineParts(
        journeys=[scenario.journey.path],
        channels={"*": capture, **(channels or {})},
        signer=load_settings().signer(),
        balance_source=balance_source,
        rules=rule_book(scenario.journey.path),
    )
    task_queue = f"simulation-{uuid.uuid4()}"
    async with build_worker(env.client, task_queue, parts):
        start = await _start_time(env, scenario)
        await _skip_to(env, start)
        handle = await env.client.start_workflow(
            DelinquencyJourney.run,
            JourneyInput(account=scenario.account, journey=scenario.journey.definition.id),
            id=workflow_id(scenario.account.account_id),
            task_queue=task_queue,
            search_attributes=starting(scenario.account),  # as the Python client starts
            memo={"currency": scenario.account.currency},
            static_summary=summary(
                scenario.account,
                scenario.journey.definition.id,
                scenario.journey.definition.version,
            ),
        )
        events = []
        for timed in scenario.timed_events(start):
            if timed.at > scenario.horizon(start):
                break
            await _skip_to(env, timed.at)
            events.append(await _inject(handle, timed))
        await _skip_to(env, scenario.horizon(start))
        description = await handle.describe()
        if description.status == WorkflowExecutionStatus.FAILED:
            try:
                await handle.result()
            except Exception as exc:  # the workflow's own failure, shown to the designer
                raise ScenarioError(f"the journey failed: {_root_message(exc)}") from None
        status = await handle.query(DelinquencyJourney.status)
        history = await handle.fetch_history()
        if description.status == WorkflowExecutionStatus.RUNNING:
            # The horizon came first: end it here, so that another scenario for the same
            # account can run on this server next (`journey test`).
            await handle.terminate("the scenario's horizon")
    return SimulationRun(
        scenario,
        start,
        status,
        description.status == WorkflowExecutionStatus.COMPLETED,
        capture,
        events,
        history,
    )


def rule_book(journey: Path) -> RuleBook:
    """The rule packs a simulation runs under: `rules/` beside the journey, else the
    journeys folder's (RAPPORT_JOURNEYS_DIR), the packs `journey validate` reads."""
    beside = journey.parent / RULES_FOLDER
    folder = beside if beside.is_dir() else load_settings().journeys_dir / RULES_FOLDER
    try:
        return load_rulebook(folder)
    except DefinitionError as exc:
        shown = "; ".join(str(p) for p in exc.problems[:3])
        raise ScenarioError(f"the rule packs in {folder} do not read: {shown}") from None


async def _start_time(env: WorkflowEnvironment, scenario: LoadedScenario) -> datetime:
    now = await env.get_current_time()
    if scenario.start is None:
        return now
    try:
        return scenario.start.at(now, scenario.account.customer.timezone)
    except StartInPast as exc:
        raise ScenarioError(f"{scenario.path}: {exc}") from None


async def _skip_to(env: WorkflowEnvironment, moment: datetime) -> None:
    delta = moment - await env.get_current_time()
    if delta > timedelta():
        await env.sleep(delta)


async def _inject(handle: WorkflowHandle[Any, Any], timed: TimedEvent) -> dict[str, Any]:
    """Deliver one scenario event as the billing system or customer would; record the verdict."""
    event = timed.event
    record: dict[str, Any] = {
        "at": timed.at,
        "type": event.type,
        **event.model_dump(mode="json", exclude={"at", "type"}, exclude_defaults=True),
    }
    try:
        if event.type == ACCEPT_PLAN_UPDATE:
            await handle.execute_update(
                ACCEPT_PLAN_UPDATE,
                AcceptPlan(installments=event.installments, every=event.every),
                result_type=AcceptedPlan,
            )
        elif event.type == SMS_REPLY:  # as the inbound webhook reads a text
            meaning = reply_meaning(event.text)
            record["means"] = meaning.means or meaning.signal
            if meaning.signal is not None:
                await handle.signal(meaning.signal, meaning.payload)
        else:
            await handle.signal(event.type, _signal_payload(event))
    except WorkflowUpdateFailedError as exc:
        return {**record, "accepted": False, "error": _root_message(exc)}
    except (RPCError, WorkflowFailureError) as exc:
        description = await handle.describe()
        ended = description.status != WorkflowExecutionStatus.RUNNING
        error = "the journey has already ended" if ended else _root_message(exc)
        return {**record, "accepted": False, "error": error}
    return {**record, "accepted": True}


def _signal_payload(event: Any) -> Any:
    """The signal's own payload: the event's fields but `at` and `type`."""
    fields = event.model_dump(exclude={"at", "type"}, exclude_unset=True)
    return SIGNALS[event.type].payload.model_validate(fields)


def _root_message(exc: BaseException) -> str:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return str(exc)
