"""One `env` fixture, as in Temporal's samples: the time-skipping test server by
default, or a local dev server with `--workflow-environment=local`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from rapport import search_attributes
from rapport.servers import binary, quiet_runtime, start_time_skipping


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--workflow-environment", default="time-skipping",
                     help="time-skipping (default) or local")


@pytest_asyncio.fixture
async def env(request: pytest.FixtureRequest) -> AsyncIterator[WorkflowEnvironment]:
    kind = request.config.getoption("--workflow-environment")
    if kind == "local":
        environment = await WorkflowEnvironment.start_local(
            data_converter=pydantic_data_converter,
            dev_server_existing_path=binary("temporal"),
            search_attributes=search_attributes.ALL,
            runtime=quiet_runtime(),
        )
    else:
        environment = await start_time_skipping()
    async with environment:
        yield environment
