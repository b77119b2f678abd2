"""Portal requests per second and latency, on SQLite and on PostgreSQL.

    .venv/bin/python -m bench.portal [REQUESTS]

The landing page (`GET /r/{token}`: the link's row from the store, the journey's live
balance from Temporal's `status` query, the page rendered) is measured beside two plain
baselines on the same store, server and event loop, in this run:

- a bare Starlette route (what FastAPI runs on) that reads one row: the floor;
- the same route plus the workflow query: what a competent user would write plainly for
  the same job (a page needs the live balance).

Everything runs in one process (the web apps, the worker answering queries and the load
generator, 16 requests in flight) beside the dev server: figures are for comparing, not
capacity. Rate limits are raised for the run (they would answer 429 from one address).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route
from temporalio.client import Client

from bench.results import record
from rapport.cli.demo import midday_zone
from rapport.client import Journeys
from rapport.consent.book import ConsentBook
from rapport.contract.journey import JourneyStatus
from rapport.contract.names import STATUS_QUERY, workflow_id
from rapport.language.account import Account
from rapport.providers.outbox import Capture
from rapport.runtime.servers import free_port, start_local
from rapport.runtime.settings import Settings
from rapport.runtime.workers import EngineParts, build_worker
from rapport.store.database import Store
from rapport.store.links import Link, LinkBook, links, token_hash
from rapport.web.app import create_app, serve_asgi

JOURNEY = """\
id: bench-portal
version: 1
name: One wait
steps:
  - {id: rest, wait: 30d}
"""
ACCOUNTS = 20
IN_FLIGHT = 16


def bare_app(store: Store, client: Client | None) -> Starlette:
    """One row by token hash (and, with a client, the journey's status): plain code."""

    async def page(request: Request) -> HTMLResponse:
        digest = token_hash(request.path_params["token"])

        def read() -> object:
            with store.begin() as connection:
                return connection.execute(select(links).where(links.c.token_hash == digest)).first()

        row = await asyncio.to_thread(read)
        if row is None:
            return HTMLResponse("not found", status_code=404)
        balance = ""
        if client is not None:
            handle = client.get_workflow_handle(workflow_id(row.account_id))  # type: ignore[attr-defined]
            status = await handle.query(STATUS_QUERY, result_type=JourneyStatus)
            balance = str(status.balance)
        return HTMLResponse(f"<p>{row.account_id} {balance}</p>")  # type: ignore[attr-defined]

    return Starlette(routes=[Route("/r/{token}", page)])


async def load(base: str, tokens: list[str], requests: int) -> tuple[float, list[float]]:
    """(requests per second, latencies in ms) for `requests` GETs, IN_FLIGHT at a time."""
    latencies: list[float] = []
    queue = iter(range(requests))

    async def worker(http: httpx.AsyncClient) -> None:
        for n in queue:
            started = time.perf_counter()
            answer = await http.get(f"{base}/r/{tokens[n % len(tokens)]}")
            assert answer.status_code == 200, answer.status_code
            latencies.append((time.perf_counter() - started) * 1000)

    async with httpx.AsyncClient(timeout=30) as http:
        began = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(IN_FLIGHT)))
        return requests / (time.perf_counter() - began), latencies


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


async def measure(database: str, url: str, folder: Path, requests: int) -> dict[str, object]:
    (folder / "templates").mkdir(parents=True, exist_ok=True)
    (folder / "bench.yaml").write_text(JOURNEY)
    settings = Settings(
        data_dir=folder,
        database_url=url,
        journeys_dir=folder,
        task_queue=f"bench-portal-{uuid.uuid4()}",
        portal_url=f"http://127.0.0.1:{free_port()}",
        portal_requests_per_token=10**9,
        portal_requests_per_address=10**9,
    )
    store = Store(url)
    store.upgrade()
    server = await start_local()
    try:
        parts = EngineParts(
            journeys=[folder],
            channels={"*": Capture()},
            signer=settings.signer(),
            consent=ConsentBook(store),
        )
        async with build_worker(server.client, settings.task_queue, parts):
            tokens = await _accounts(server.client, settings, store)
            results: dict[str, object] = {"database": database}
            apps = {
                "bare_row": bare_app(store, None),
                "bare_row_and_query": bare_app(store, server.client),
                "portal_landing": create_app(settings, server.client),
            }
            for name, app in apps.items():
                web = await serve_asgi(app, "127.0.0.1", free_port())
                try:
                    await load(web.address, tokens, min(50, requests))  # warm up
                    rate, latencies = await load(web.address, tokens, requests)
                finally:
                    await web.stop()
                results[name] = {
                    "rps": round(rate, 1),
                    "p50_ms": round(statistics.median(latencies), 1),
                    "p99_ms": round(p99(latencies), 1),
                }
            return results
    finally:
        await server.shutdown()
        store.dispose()


async def _accounts(client: Client, settings: Settings, store: Store) -> list[str]:
    book, tokens, now = LinkBook(store), [], datetime.now(UTC)
    journeys = Journeys(client, settings)
    for n in range(ACCOUNTS):
        account = Account.model_validate(
            {
                "account_id": f"B-{n}",
                "balance": "120.50",
                "currency": "USD",
                "days_past_due": 5,
                "customer": {
                    "first_name": "Sam",
                    "timezone": midday_zone(),
                    "phone": "+15555550100",  # places no one: midday counts
                },
            }
        )
        await journeys.start(account, "bench-portal")
        token = f"benchtoken{n:06d}"
        book.keep(
            token,
            Link(
                account_id=account.account_id,
                journey_id="bench-portal",
                purpose="respond",
                channel="sms",
                address=None,
                expires_at=now + timedelta(days=1),
            ),
            now,
        )
        tokens.append(token)
    return tokens


def postgres_url(folder: Path) -> tuple[str, Callable[[], None]]:
    os.environ.setdefault("XDG_RUNTIME_DIR", str(folder))
    import pgserver

    server = pgserver.get_server(folder / "pg", cleanup_mode="stop")
    url = server.get_uri().replace("postgresql://", "postgresql+psycopg://")
    return url, server.cleanup


async def main(requests: int = 1000) -> list[dict[str, object]]:
    with tempfile.TemporaryDirectory(prefix="bench-portal-") as scratch:
        folder = Path(scratch)
        results = [
            await measure(
                "sqlite", f"sqlite:///{folder / 'rapport.db'}", folder / "sqlite", requests
            )
        ]
        url, stop = postgres_url(folder)
        try:
            results.append(await measure("postgresql", url, folder / "pg-run", requests))
        finally:
            stop()
    for result in results:
        report(result)
    record(
        {
            f"portal_{r['database']}": {k: v for k, v in r.items() if k != "database"}
            for r in results
        }
    )
    record(
        {
            f"portal_{r['database']}_landing_ratio": round(
                _rps(r, "portal_landing") / _rps(r, "bare_row_and_query"), 2
            )
            for r in results
        }
    )
    return results


def _rps(result: dict[str, object], name: str) -> float:
    figures = result[name]
    assert isinstance(figures, dict)
    return float(figures["rps"])


def report(result: dict[str, object]) -> None:
    floor, plain, ours = (result[k] for k in ("bare_row", "bare_row_and_query", "portal_landing"))
    assert isinstance(floor, dict)
    assert isinstance(plain, dict)
    assert isinstance(ours, dict)
    print(f"\n{result['database']}: requests/s, p50, p99 ({IN_FLIGHT} in flight)")
    for name, figures in (
        ("bare route, one row", floor),
        ("bare route, row + query", plain),
        ("portal landing page", ours),
    ):
        print(
            f"  {name:26} {figures['rps']:8.1f}/s  {figures['p50_ms']:6.1f} ms "
            f"{figures['p99_ms']:7.1f} ms"
        )
    print(
        f"  landing / (row + query): {ours['rps'] / plain['rps']:.2f} of its rate; "
        f"landing / one row: {ours['rps'] / floor['rps']:.2f}"
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000))
