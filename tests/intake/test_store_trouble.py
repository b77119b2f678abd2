"""The intake API on `journey web` while its store is in trouble (attack review of issue
27): the real web app on loopback, a real store (a SQLite file, PostgreSQL), no
Temporal (every request here is answered before a journey is asked)."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx
import pytest

from rapport.intake import keys
from rapport.runtime.servers import free_port
from rapport.runtime.settings import Settings
from rapport.store import thread
from rapport.store.database import Store
from rapport.store.intake import ApiKeys
from rapport.web.app import serve_web
from tests.stores import migrated_sqlite

pytestmark = pytest.mark.timeout(60)


@asynccontextmanager
async def web_on(settings: Settings) -> AsyncIterator[str]:
    web = await serve_web(settings, port=free_port())
    try:
        yield web.address
    finally:
        await web.stop()


@contextmanager
def locked(store: Store) -> Iterator[None]:
    """Another process holding the store's write lock (SQLite) or the API's tables
    (PostgreSQL: a migration, an operator's transaction left open)."""
    if store.is_sqlite:
        holder = sqlite3.connect(str(store.engine.url.database), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    with store.engine.connect() as tables:
        tables.exec_driver_sql(
            "LOCK TABLE api_keys, rate_counts, idempotency_keys IN ACCESS EXCLUSIVE MODE"
        )
        try:
            yield
        finally:
            tables.rollback()


@pytest.mark.slow  # waits for the store's timeout
@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
async def test_a_store_that_does_not_answer_is_a_503_and_the_api_recovers(
    database: str, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API's store calls had no time limit: with PostgreSQL's tables locked (a
    migration, a transaction left open) every API request waited for ever, and its four
    store threads with it; on SQLite a request waited out the 30 s busy timeout. Now a
    request is answered 503 with Retry-After once the store has not answered within the
    store thread's wait (here 0.5 s), the app answers meanwhile, and the API works again
    as soon as the store does."""
    monkeypatch.setattr(thread, "WAIT", 0.5)
    database_url = None
    if database == "postgresql":
        database_url = request.getfixturevalue("postgres").new_database(f"t{uuid.uuid4().hex[:8]}")
        Store(database_url).upgrade()
    else:
        migrated_sqlite(tmp_path / "rapport.db").dispose()
    settings = Settings(
        data_dir=tmp_path,
        journeys_dir=tmp_path,
        portal_url=f"http://127.0.0.1:{free_port()}",
        temporal_address=f"127.0.0.1:{free_port()}",  # nothing there
        database_url=database_url,
    )
    store = Store(settings.store_url())
    made = keys.create(ApiKeys(store), "billing")
    headers = {"Authorization": f"Bearer {made.key}"}
    try:
        async with (
            web_on(settings) as address,
            httpx.AsyncClient(base_url=address, headers=headers, timeout=20) as api,
        ):

            async def post() -> httpx.Response:
                idempotency = {"Idempotency-Key": uuid.uuid4().hex}
                return await api.post("/v1/journeys", content=b"not json", headers=idempotency)

            assert (await post()).status_code == 400  # past the key, the limit, the claim
            with locked(store):
                began = time.monotonic()
                refused = [await post() for _ in range(5)]  # more than the threads
                assert time.monotonic() - began < 10
                assert {r.status_code for r in refused} == {503}, [r.text for r in refused]
                assert refused[0].headers["content-type"] == "application/problem+json"
                assert refused[0].headers["Retry-After"] == "5"
                assert (await api.get("/health")).text == "ok"  # the app answers meanwhile
            assert (await post()).status_code == 400
    finally:
        store.dispose()


def journey_web(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        journey = Path(sys.executable).with_name("journey")
        return subprocess.Popen([str(journey), "web"], env=env, stderr=out)


@pytest.mark.slow  # a `journey web` process
async def test_a_stop_answers_the_requests_in_flight_and_keeps_their_answers(
    tmp_path: Path,
) -> None:
    """`journey web` took SIGTERM (every deploy's stop) with the signal's default: the
    process died at once, its requests in flight were cut off (the client read no
    answer), and a POST's Idempotency-Key stayed claimed with no answer, so each retry was
    told 409 "still running" for two minutes. Now a stop answers what is in flight (here
    a start waiting for the store's write lock), keeps its answer, and exits 0."""
    import asyncio
    import os
    import signal

    store = migrated_sqlite(tmp_path / "rapport.db")
    made = keys.create(ApiKeys(store), "billing")
    port = free_port()
    env = {
        **os.environ,
        "RAPPORT_DATA_DIR": str(tmp_path),
        "RAPPORT_JOURNEYS_DIR": str(tmp_path),
        "RAPPORT_PORTAL_URL": f"http://127.0.0.1:{port}",
        "RAPPORT_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
    }
    web = journey_web(env, tmp_path / "web.log")
    headers = {"Authorization": f"Bearer {made.key}", "Idempotency-Key": "start-A-1"}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as api:
            for _ in range(200):  # until it listens
                with contextlib.suppress(httpx.TransportError):
                    await api.get("/health")
                    break
                await asyncio.sleep(0.05)
            await api.get("/v1/accounts/A-1", headers=headers)  # its key read, its limit
            with locked(store):
                in_flight = asyncio.ensure_future(
                    api.post("/v1/journeys", content=b"not json", headers=headers)
                )
                await asyncio.sleep(0.3)  # waiting for the write lock
                web.send_signal(signal.SIGTERM)
                await asyncio.sleep(0.3)
            answer = await in_flight
            assert answer.status_code == 400, answer.text
            assert web.wait(10) == 0
        with store.begin() as connection:
            kept = connection.exec_driver_sql("SELECT status FROM idempotency_keys").scalars()
            assert list(kept) == [400]
    finally:
        if web.poll() is None:
            web.kill()
            web.wait()
        store.dispose()
