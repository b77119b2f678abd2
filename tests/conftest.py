"""One `env` fixture, as in Temporal's samples: the time-skipping test server by
default, or a local dev server with `--workflow-environment=local`. One `store`
fixture: every test that uses it runs twice, on a SQLite file and on a real
PostgreSQL 16 (from the `pgserver` package, started once per session). Tests sit in
one folder per capability (`tests/<capability>/`) and share the helpers beside this
file."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from rapport.runtime.servers import start_local, start_time_skipping
from rapport.store.database import Store
from tests.postgres import Postgres
from tests.stores import migrated_sqlite

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


# A test that asks for one of these fixtures carries the mark of the same name, so `-m`
# selects honestly (the `store` fixture marks its PostgreSQL param itself).
MARKED_FIXTURES = ("postgres", "browser")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    unmarked = [
        f"{item.nodeid} uses the {name} fixture without @pytest.mark.{name}"
        for item in items
        for name in MARKED_FIXTURES
        if name in getattr(item, "fixturenames", ()) and item.get_closest_marker(name) is None
    ]
    if unmarked:
        raise pytest.UsageError("\n".join(unmarked))


# The fast loop (`make check`) stays under a minute only while its tests are quick: a test
# that takes longer than this on its own (real-time waits, processes, fuzzing, big inputs)
# carries @pytest.mark.slow. The summary names the unmarked ones that did not.
SLOW_SECONDS = 1.5
_unmarked_slow: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Runs where the summary is written (the controller, under pytest-xdist)."""
    took = report.duration
    marked = "slow" in report.keywords or "browser" in report.keywords
    if report.when == "call" and took > SLOW_SECONDS and not marked:
        _unmarked_slow.append(f"{took:5.1f} s  {report.nodeid}")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _unmarked_slow:
        terminalreporter.section("quick tests that were not (mark them @pytest.mark.slow)")
        for line in _unmarked_slow:
            terminalreporter.line(line)


@pytest_asyncio.fixture
async def env(request: pytest.FixtureRequest) -> AsyncIterator[WorkflowEnvironment]:
    kind = request.config.getoption("--workflow-environment")
    environment = await (start_local() if kind == "local" else start_time_skipping())
    async with environment:
        yield environment


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    # The data folder is not under pytest's temp root: as root, pgserver runs PostgreSQL as
    # the `pgserver` user, who must traverse the folder's parents, and every pytest started
    # by root resets /tmp/pytest-of-root to 0700 (another run on the machine locks it out).
    data = Path(tempfile.mkdtemp(prefix="rapport-postgres-"))
    server = Postgres.start(data, runtime=tmp_path_factory.mktemp("postgres-runtime"))
    yield server
    server.stop()
    shutil.rmtree(data, ignore_errors=True)


# Every store a test opens starts as a copy of one migrated once per test process (a SQLite
# file copied, a PostgreSQL database made from a template): migrating each took 0.1-0.3 s.
MIGRATED = "rapport_migrated"


@pytest.fixture(scope="session")
def migrated_postgres(postgres: Postgres) -> str:
    template = Store(postgres.new_database(MIGRATED))
    template.upgrade()
    template.dispose()
    return MIGRATED


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A migrated, empty store: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        opened = migrated_sqlite(tmp_path / "rapport.db")
    else:
        postgres: Postgres = request.getfixturevalue("postgres")
        template = request.getfixturevalue("migrated_postgres")
        opened = Store(postgres.new_database(f"t{uuid.uuid4().hex[:12]}", template=template))
    yield opened
    opened.dispose()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    """A migrated SQLite store, for tests about something else that need one."""
    opened = migrated_sqlite(tmp_path / "rapport.db")
    yield opened
    opened.dispose()
