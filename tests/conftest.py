"""One `env` fixture, as in Temporal's samples: the time-skipping test server by
default, or a local dev server with `--workflow-environment=local`. One `store`
fixture: every test that uses it runs twice, on a SQLite file and on a real
PostgreSQL 16 (from the `pgserver` package, started once per session). Tests sit in
one folder per capability (`tests/<capability>/`) and share the helpers beside this
file."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from rapport.runtime.servers import start_local, start_time_skipping
from rapport.store.database import Store
from tests.postgres import Postgres

# Tests never read or write the checkout's data/ (a developer's `make run` key, store and
# outbox live there); RAPPORT_ENCRYPTION_KEYS set by hand in a shell does not leak in.
os.environ["RAPPORT_DATA_DIR"] = tempfile.mkdtemp(prefix="rapport-tests-")
os.environ.pop("RAPPORT_ENCRYPTION_KEYS", None)
# The tests run in development (production refuses the dev provider and secrets); the
# startup tests set production themselves.
os.environ["RAPPORT_ENVIRONMENT"] = "development"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--workflow-environment", default="time-skipping", help="time-skipping (default) or local"
    )


@pytest_asyncio.fixture
async def env(request: pytest.FixtureRequest) -> AsyncIterator[WorkflowEnvironment]:
    kind = request.config.getoption("--workflow-environment")
    environment = await (start_local() if kind == "local" else start_time_skipping())
    async with environment:
        yield environment


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    server = Postgres.start(tmp_path_factory.mktemp("postgres"))
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A migrated, empty store: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'rapport.db'}"
    else:
        url = request.getfixturevalue("postgres").new_database(f"t{uuid.uuid4().hex[:12]}")
    opened = Store(url)
    opened.upgrade()
    yield opened
    opened.dispose()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """A migrated SQLite store, for tests about something else that need one."""
    opened = Store(f"sqlite:///{tmp_path / 'rapport.db'}")
    opened.upgrade()
    yield opened
    opened.dispose()
