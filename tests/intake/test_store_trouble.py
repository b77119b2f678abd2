"""The intake API on `journey web` while its store is in trouble (attack review of issue
27): the real web app on loopback, a real store (a SQLite file, PostgreSQL), no
Temporal (every request here is answered before a journey is asked)."""

from __future__ import annotations

import sqlite3
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
