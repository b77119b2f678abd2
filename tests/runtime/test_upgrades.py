"""The deploy procedure of docs/operating.md ("Upgrading"), for real on the dev server.

Build A (this checkout) runs journeys. Build B is a copy of it with a deliberately
incompatible change to the workflow (a timer before every step). `journey replay-check`
run with B's code names A's journeys before B is made current (and passes with A's);
B is made current with the `temporal` command the docs give. New journeys start on B;
A's journeys stay pinned to A: one paid in full finishes there, one woken by a partial
payment continues as new onto B at its rest, carrying its state, and finishes on B.
Nothing is stuck (no workflow task failed anywhere), no message goes twice, and A
drains. Every process is a real one: the workers, the CLI, Temporal's CLI.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio
from pydantic import SecretStr
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from rapport.client import Journeys
from rapport.contract.names import workflow_id
from rapport.providers.outbox import read_outbox
from rapport.runtime.servers import binary, start_dev_server
from rapport.runtime.settings import Settings
from rapport.runtime.temporal import connect
from rapport.runtime.versions import current_build, default_build_id
from rapport.security.codec import new_key_line
from tests.journey_files import write_journey
from tests.runtime.test_operations import customer, eventually
from tests.workers import ROOT, Workers, settings_for, worker_env

pytestmark = pytest.mark.slow

UPGRADING = """\
id: upgrading
version: 1
name: Remind, wait, remind
entry: {when: "account.days_past_due > 0"}
on_paid:
  send: {channel: email, template: thanks}
on_partial_payment:
  send: {channel: email, template: partial}
steps:
  - {id: first, send: {channel: email, template: reminder}}
  - {id: pause, wait: 1d}
  - {id: second, send: {channel: email, template: reminder}}
"""
PARTIAL: dict[str, str | None] = {
    "partial.email.j2": "Subject: Thank you\n\n{{ balance }} left.\n{{ opt_out }}\n"
}

BUILD_B_CHANGE = """

# Build B of tests/runtime/test_upgrades.py: an incompatible change, a timer before
# every step (a running journey's history has none there).
_step_of_build_a = DelinquencyJourney._run_step


async def _step_of_build_b(self: Any, step: Any, position: int) -> int:
    await workflow.sleep(1)
    return await _step_of_build_a(self, step, position)


DelinquencyJourney._run_step = _step_of_build_b  # type: ignore[method-assign]
"""


def build_b(tmp_path: Path) -> Path:
    """A checkout of this code whose workflow issues a command today's histories lack."""
    root = tmp_path / "build-b"
    for package in ("workflows", "rapport", "activities"):
        shutil.copytree(
            ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "worker.py", root / "worker.py")
    journey = root / "workflows" / "journey.py"
    journey.write_text(journey.read_text() + BUILD_B_CHANGE)
    return root


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def replay_check(cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`journey replay-check` with the code of the checkout at `cwd`."""
    return run([sys.executable, "-m", "rapport.cli", "replay-check"], cwd, env)


def temporal(
    env: dict[str, str], settings: Settings, *args: str
) -> subprocess.CompletedProcess[str]:
    return run([binary("temporal"), *args, "--address", settings.temporal_address], ROOT, env)


async def build_of(client: Client, account_id: str) -> str:
    """The build id the journey's latest run is pinned to."""
    described = await client.get_workflow_handle(workflow_id(account_id)).describe()
    info = described.raw_description.workflow_execution_info.versioning_info
    return info.deployment_version.build_id


async def outcome(client: Client, account_id: str) -> str:
    """How the journey ended (following its runs); a stuck one fails the test in 30 s."""
    handle = client.get_workflow_handle(workflow_id(account_id))
    result = await asyncio.wait_for(handle.result(), timeout=30)
    return str(result["outcome"])


async def task_failures(client: Client, account_id: str) -> int:
    """Workflow tasks that failed, in every run of the journey (a stuck journey has some)."""
    failed = 0
    async for execution in client.list_workflows(f"WorkflowId = '{workflow_id(account_id)}'"):
        history = await client.get_workflow_handle(
            execution.id, run_id=execution.run_id
        ).fetch_history()
        failed += sum(
            e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED for e in history.events
        )
    return failed


@pytest_asyncio.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[tuple[WorkflowEnvironment, Settings]]:
    write_journey(tmp_path / "journeys", UPGRADING, PARTIAL)
    settings = settings_for(tmp_path)
    server = await start_dev_server(settings)
    try:
        yield server, settings
    finally:
        await server.shutdown()


async def test_a_new_build_is_checked_made_current_and_takes_over(
    cluster: tuple[WorkflowEnvironment, Settings], tmp_path: Path
) -> None:
    _, settings = cluster
    keys = new_key_line("upgrade-test")
    env = worker_env(settings, RAPPORT_ENCRYPTION_KEYS=keys)
    encrypted = settings.model_copy(update={"encryption_keys": SecretStr(keys)})
    client = await connect(encrypted)  # the histories are encrypted: every process has the key
    journeys = Journeys(client, encrypted)
    workers = Workers(env, tmp_path / "workers.log")
    b_root = build_b(tmp_path)
    a_build = default_build_id()
    b_build = run(
        [sys.executable, "-c", "from rapport.runtime.versions import *; print(default_build_id())"],
        b_root,
        workers.env,
    ).stdout.strip()
    assert a_build != b_build
    try:
        # build A: the deployment's first version makes itself current
        worker_a = workers.start()

        async def a_is_current() -> None:
            assert await current_build(client, "rapport") == a_build

        await eventually(a_is_current, within=30)
        for account_id in ("UP-1", "UP-2"):
            await journeys.start(customer(account_id))

        async def resting() -> None:
            for account_id in ("UP-1", "UP-2"):
                status = await journeys.status(account_id)
                assert (status.step, status.state, len(status.messages)) == ("pause", "waiting", 1)

        await eventually(resting, within=30)

        # build B starts beside it, not current; the check names A's journeys
        workers.start(b_root)
        flagged = replay_check(b_root, workers.env)
        assert flagged.returncode == 1, flagged.stdout + flagged.stderr
        assert (
            f"2 of 2 journeys would not replay on this code (rapport:{b_build})" in flagged.stdout
        )
        for account_id in ("UP-1", "UP-2"):
            assert f"{workflow_id(account_id)} (run " in flagged.stdout
        assert f"on rapport:{a_build}): NondeterminismError" in flagged.stdout
        passed = replay_check(ROOT, workers.env)
        assert passed.returncode == 0, passed.stdout + passed.stderr
        assert f"2 journeys replay on this code (rapport:{a_build})" in passed.stdout

        # made current as the docs say (once B's workers poll, which the command checks)
        async def made_current() -> None:
            done = temporal(
                workers.env,
                settings,
                *("worker", "deployment", "set-current-version", "--deployment-name", "rapport"),
                *("--build-id", b_build, "--yes"),
            )
            assert done.returncode == 0, done.stderr

        await eventually(made_current, within=30)

        # new journeys start on B
        await journeys.start(customer("UP-3"))

        async def b_runs_new_journeys() -> None:
            assert len((await journeys.status("UP-3")).messages) == 1
            assert await build_of(client, "UP-3") == b_build

        await eventually(b_runs_new_journeys, within=30)

        # A's journeys stay on A until they rest again: paid in full, UP-1 ends there
        await journeys.pay("UP-1", Decimal("300.00"))
        assert await outcome(client, "UP-1") == "paid"
        assert await build_of(client, "UP-1") == a_build

        # a partial payment wakes UP-2: it thanks, rests, and continues as new onto B
        await journeys.pay("UP-2", Decimal("100.00"))

        async def moved() -> None:
            assert await build_of(client, "UP-2") == b_build
            status = await journeys.status("UP-2")
            assert (status.step, status.balance, len(status.messages)) == (
                "pause",
                Decimal("200.00"),
                2,
            )

        await eventually(moved, within=30)
        await journeys.pay("UP-2", Decimal("200.00"))
        assert await outcome(client, "UP-2") == "paid"
        assert await build_of(client, "UP-2") == b_build

        # nothing stuck, nothing sent twice, and A drained
        for account_id in ("UP-1", "UP-2", "UP-3"):
            assert await task_failures(client, account_id) == 0
        keys_sent = [m["key"] for m in read_outbox(settings.outbox_path)]
        assert len(keys_sent) == len(set(keys_sent)) == 6  # 3 first, 1 partial, 2 thanks

        async def drained() -> None:
            counted = temporal(
                workers.env,
                settings,
                *("workflow", "count", "--output", "json", "--query"),
                f"TemporalWorkerDeploymentVersion = 'rapport:{a_build}' "
                "AND ExecutionStatus = 'Running'",
            )
            assert json.loads(counted.stdout).get("count", "0") == "0", counted.stdout

        await eventually(drained, within=30)
        worker_a.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(worker_a.wait, 60) == 0
    finally:
        workers.stop_all()
