"""`journey migrate` as an operator runs it, on the dev server (its visibility lists the
running journeys of a definition; the time-skipping server cannot list): the dry run,
the refusals, the move, and `journey status` showing it. The journeys' later life on
the new version is tests/workflows/test_migration.py's, on the time-skipping server."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from rapport.catalog.archive import StoreArchive
from rapport.cli.demo import midday_zone
from rapport.contract import search_attributes as sa
from rapport.contract.names import WORKFLOW_TYPE, workflow_id
from rapport.language.account import Account
from rapport.providers.outbox import Capture
from rapport.runtime.servers import start_local
from rapport.runtime.workers import EngineParts, build_worker
from rapport.security.links import LinkSigner
from rapport.store.database import Store
from tests.journey_files import write_journey
from tests.scenarios import account
from tests.workflows.test_migration import V1, V2, V3
from workflows.journey import DelinquencyJourney
from workflows.state import JourneyInput

pytestmark = pytest.mark.slow  # a dev server and a CLI process per command


@dataclass
class Cli:
    env: dict[str, str]

    async def __call__(self, *args: str) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "rapport.cli",
            *args,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 120)
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()


@pytest_asyncio.fixture
async def server() -> AsyncIterator[WorkflowEnvironment]:
    env = await start_local()
    async with env:
        yield env


async def test_an_operator_moves_the_journeys_of_a_definition(
    server: WorkflowEnvironment, tmp_path: Path
) -> None:
    folder = tmp_path / "journeys"
    write_journey(folder, V1, name="moving_v1.yaml")
    url = f"sqlite:///{tmp_path / 'rapport.db'}"
    store = Store(url)
    store.upgrade()
    queue = f"migrate-{uuid.uuid4()}"
    parts = EngineParts(
        journeys=[folder],
        channels={"*": Capture()},
        signer=LinkSigner("k"),
        archive=StoreArchive(store),
    )
    journey = Cli(
        {
            **os.environ,
            "TEMPORAL_ADDRESS": server.client.service_client.config.target_host,
            "RAPPORT_DATABASE_URL": url,
            "RAPPORT_JOURNEYS_DIR": str(folder),
            "RAPPORT_TASK_QUEUE": queue,
        }
    )
    async with build_worker(server.client, queue, parts):
        for account_id in ("M-1", "M-2"):
            customer = Account.model_validate(
                account(account_id=account_id, customer__timezone=midday_zone())
            )
            await server.client.start_workflow(
                DelinquencyJourney.run,
                JourneyInput(account=customer, journey="moving"),
                id=workflow_id(account_id),
                task_queue=queue,
                search_attributes=sa.starting(customer),
            )
        await listed(server, 2)  # both sent `first` and rest in `rest` (2 days)
        write_journey(folder, V2, name="moving_v2.yaml")  # the designer's new version
        write_journey(folder, V3, name="moving_v3.yaml")

        code, out, err = await journey("migrate", "moving", "--to", "9")
        assert code == 1
        assert err.startswith("journey moving has no version 9; known: v1 (")

        code, out, err = await journey("migrate", "moving", "--to", "3", "--dry-run")
        assert code == 1, err
        lines = out.splitlines()
        assert lines[0].startswith("M-1          refused: step rest is not in moving v3")
        assert lines[1].startswith("M-2          refused: step rest is not in moving v3")
        assert lines[2].startswith("dry run: 0 of 2 journeys would move to moving v3 (")

        code, out, err = await journey("migrate", "moving", "--to", "2", "--dry-run")
        assert code == 0, err
        lines = out.splitlines()
        for line in lines[:2]:
            assert (
                "v1 step rest -> v2 step rest; would move now, where it rests in its wait" in line
            )
            assert "customer time" in line
            assert line.endswith(": welcome_back by email (reminder)")
        assert "a pure computation, no simulation" in lines[2]
        assert "nothing was sent" in lines[2]

        code, out, err = await journey(
            "migrate", "moving", "--to", "2", "--account", "M-1", "--reason", "new greeting"
        )
        assert code == 0, err
        assert out.splitlines()[-1].startswith("1 of 1 journeys move to moving v2 (")

        for _ in range(100):
            code, shown, err = await journey("status", "M-1")
            if "journey moving v2" in shown:
                break
            await asyncio.sleep(0.2)
        assert "account M-1: journey moving v2" in shown
        assert " v1 -> v2 at step rest (" in shown
        assert shown.rstrip().endswith(": new greeting")
        code, other, err = await journey("status", "M-2")
        assert "journey moving v1" in other  # only the account named moved

        # run again for every journey: M-1 is there already (exit 0), M-2 moves now
        code, out, err = await journey("migrate", "moving", "--to", "2")
        assert code == 0, err
        lines = out.splitlines()
        assert lines[0] == "M-1          already follows v2: nothing to do"
        assert lines[1].startswith("M-2          v1 step rest -> v2 step rest; migrate_to sent")
        assert lines[2].startswith("1 of 2 journeys move to moving v2 (")
        assert lines[2].endswith("; 0 refused, 1 already there")
        for account_id in ("M-1", "M-2"):
            await server.client.get_workflow_handle(workflow_id(account_id)).terminate("over")
    store.dispose()


async def listed(server: WorkflowEnvironment, count: int) -> None:
    """Until the server lists `count` journeys of `moving` resting in a wait."""
    query = f"WorkflowType = '{WORKFLOW_TYPE}' AND JourneyId = 'moving' AND JourneyStep = 'rest'"
    for _ in range(200):
        if (await server.client.count_workflows(query)).count == count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the journeys were not listed")
