"""One `env` fixture, as in Temporal's samples: the time-skipping test server by
default, or a local dev server with `--workflow-environment=local`. Tests sit in one
folder per capability (`tests/<capability>/`) and share the helpers beside this file."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from rapport.runtime.servers import start_local, start_time_skipping


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--workflow-environment", default="time-skipping",
                     help="time-skipping (default) or local")


@pytest_asyncio.fixture
async def env(request: pytest.FixtureRequest) -> AsyncIterator[WorkflowEnvironment]:
    kind = request.config.getoption("--workflow-environment")
    environment = await (start_local() if kind == "local" else start_time_skipping())
    async with environment:
        yield environment
