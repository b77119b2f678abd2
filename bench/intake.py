"""The intake against a bare loop of `start_workflow`, same server, same run, same
concurrency, same encryption, the same search attributes, memo and summary (the real work
of starting a journey that operators can find):

- API starts per second: N `POST /v1/journeys` through the web app (API key, rate limit,
  Idempotency-Key kept in the store, validation, the journeys folder's check) against N
  `client.start_workflow` calls with the same input, id policies and data converter;
  the API's p50 and p99;
- `journey import` of M accounts (two files of M/2, a real run: every account started)
  against the same starts in a bare loop with the importer's concurrency, interleaved.

    .venv/bin/python -m bench.intake [N] [M]      (default: 300 10000)
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from bench.common import Timer, dev_server, gather_limited
from bench.results import record
from rapport.cli.demo import midday_zone
from rapport.client import Journeys
from rapport.contract import search_attributes as sa
from rapport.contract.journey import JourneyStart, summary
from rapport.contract.names import WORKFLOW_TYPE, workflow_id
from rapport.intake import keys
from rapport.intake.importer import CONCURRENCY, Importer
from rapport.language.account import Account
from rapport.runtime.servers import free_port
from rapport.runtime.settings import Settings
from rapport.runtime.temporal import data_converter
from rapport.security.codec import new_key_line
from rapport.store.database import Store
from rapport.store.intake import ApiKeys, ImportBook

ROOT = Path(__file__).resolve().parent.parent
API_CONCURRENCY = 20


def account(account_id: str) -> Account:
    return Account.model_validate(
        {
            "account_id": account_id,
            "customer": {"first_name": "Bea", "phone": "+15555550100", "timezone": midday_zone()},
            "balance": "120.00",
            "currency": "USD",
            "days_past_due": 9,
            "consent": {"sms": True},
        }
    )


async def bare_starts(client: Client, queue: str, ids: list[str], limit: int) -> float:
    """What a competent user writes plainly: start_workflow in a bounded gather."""

    async def one(account_id: str) -> None:
        who = account(account_id)
        await client.start_workflow(
            WORKFLOW_TYPE,
            JourneyStart(account=who, journey="early-stage"),
            id=workflow_id(account_id),
            task_queue=queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            # the same real work: a journey is found by these (else it upserts them itself)
            search_attributes=sa.starting(who),
            memo={"currency": who.currency},
            static_summary=summary(who, "early-stage"),
        )

    with Timer() as timer:
        await gather_limited([lambda a=a: one(a) for a in ids], limit=limit)  # type: ignore[misc]
    return len(ids) / timer.seconds


async def api_starts(base: str, key: str, ids: list[str]) -> tuple[float, list[float]]:
    latencies: list[float] = []
    async with httpx.AsyncClient(
        base_url=base,
        headers={"Authorization": f"Bearer {key}"},
        timeout=60,
        limits=httpx.Limits(max_connections=API_CONCURRENCY),
    ) as http:

        async def one(account_id: str) -> None:
            body = {
                "account": account(account_id).model_dump(mode="json"),
                "journey": "early-stage",
            }
            began = time.perf_counter()
            answer = await http.post(
                "/v1/journeys", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
            )
            latencies.append(time.perf_counter() - began)
            assert answer.status_code == 201, answer.text

        with Timer() as timer:
            await gather_limited([lambda a=a: one(a) for a in ids], limit=API_CONCURRENCY)  # type: ignore[misc]
    return len(ids) / timer.seconds, latencies


async def imported(
    settings: Settings, client: Client, store: Store, ids: list[str], folder: Path
) -> float:
    file = folder / f"placements-{uuid.uuid4().hex[:6]}.csv"
    with file.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(
            [
                "account_id",
                "customer.first_name",
                "customer.phone",
                "customer.timezone",
                "balance",
                "currency",
                "days_past_due",
                "consent.sms",
                "journey",
            ]
        )
        for account_id in ids:
            writer.writerow(
                [
                    account_id,
                    "Bea",
                    "+15555550100",
                    midday_zone(),
                    "120.00",
                    "USD",
                    "9",
                    "true",
                    "early-stage",
                ]
            )
    importer = Importer(Journeys(client, settings), ImportBook(store))
    with Timer() as timer:
        summary = await importer.file(file)
    assert summary.started == len(ids), summary
    return len(ids) / timer.seconds


async def web_process(settings: Settings, address: str) -> subprocess.Popen[bytes]:
    """`journey web` in a process of its own, as it runs in production (the benchmark's
    HTTP client is in this one)."""
    env = {
        **os.environ,
        "RAPPORT_ENVIRONMENT": "development",
        "TEMPORAL_ADDRESS": address,
        "JOURNEY_TASK_QUEUE": settings.task_queue,
        "RAPPORT_DATA_DIR": str(settings.data_dir),
        "RAPPORT_JOURNEYS_DIR": str(settings.journeys_dir),
        "RAPPORT_PORTAL_URL": settings.portal_url,
        "RAPPORT_API_REQUESTS_PER_KEY": str(settings.api_requests_per_key),
        "RAPPORT_ENCRYPTION_KEYS": settings.secret("encryption_keys") or "",
    }
    web = subprocess.Popen(  # noqa: ASYNC220  (started once, not waited on)
        [sys.executable, "-m", "rapport.cli", "web"], env=env, stdout=subprocess.DEVNULL
    )
    async with httpx.AsyncClient() as http:
        for _ in range(200):
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(f"{settings.portal_url}/health")).status_code == 200:
                    return web
            await asyncio.sleep(0.1)
    web.kill()
    raise RuntimeError("journey web did not start")


async def main(n: int, m: int) -> None:
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        port = free_port()
        settings = Settings(
            environment="development",
            encryption_keys=new_key_line("bench"),
            data_dir=folder,
            journeys_dir=ROOT / "journeys",
            task_queue=f"intake-{uuid.uuid4().hex[:6]}",
            portal_url=f"http://127.0.0.1:{port}",
            api_requests_per_key=1_000_000,
        )
        store = Store(settings.store_url())
        store.upgrade(settings.address_sealer())
        key = keys.create(ApiKeys(store), "bench").key
        async with dev_server() as server:
            client = Client(
                server.client.service_client,
                namespace=server.client.namespace,
                data_converter=data_converter(settings),
            )
            web = await web_process(settings, server.client.service_client.config.target_host)
            try:
                rates, bare, latencies = [], [], []
                for round_ in range(2):  # interleaved, best of two
                    bare.append(
                        await bare_starts(
                            client,
                            settings.task_queue,
                            [f"B{round_}-{i}" for i in range(n)],
                            API_CONCURRENCY,
                        )
                    )
                    rate, times = await api_starts(
                        settings.portal_url, key, [f"A{round_}-{i}" for i in range(n)]
                    )
                    rates.append(rate)
                    latencies += times
                bare_imports, imports = [], []
                for round_ in range(2):  # interleaved, half the accounts each, best of two
                    half = m // 2
                    bare_imports.append(
                        await bare_starts(
                            client,
                            settings.task_queue,
                            [f"BI{round_}-{i}" for i in range(half)],
                            CONCURRENCY,
                        )
                    )
                    imports.append(
                        await imported(
                            settings, client, store, [f"I{round_}-{i}" for i in range(half)], folder
                        )
                    )
                bare_import, import_rate = max(bare_imports), max(imports)
            finally:
                web.terminate()
                web.wait()
        store.dispose()
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    api, plain = max(rates), max(bare)
    print(
        f"intake on the dev server, encrypted, {API_CONCURRENCY} in flight (best of 2, interleaved)"
    )
    print(f"  API starts:   {api:7.1f}/s  bare start_workflow: {plain:7.1f}/s", end="")
    print(f"  ratio {api / plain:.2f}")
    print(f"  API latency:  p50 {p50:.0f} ms, p99 {p99:.0f} ms")
    print(
        f"  import of {m}: {import_rate:7.1f}/s  bare start_workflow ({CONCURRENCY} in flight): "
        f"{bare_import:7.1f}/s  ratio {import_rate / bare_import:.2f}"
    )
    record(
        {
            "intake_api_starts_per_s": round(api, 1),
            "intake_bare_starts_per_s": round(plain, 1),
            "intake_api_ratio": round(api / plain, 2),
            "intake_api_p50_ms": round(p50),
            "intake_api_p99_ms": round(p99),
            "intake_import_n": m,
            "intake_import_per_s": round(import_rate, 1),
            "intake_import_bare_per_s": round(bare_import, 1),
            "intake_import_ratio": round(import_rate / bare_import, 2),
        }
    )


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    asyncio.run(main(*(args + [300, 10_000][len(args) :])))
