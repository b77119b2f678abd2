"""The intake against a bare loop of `start_workflow`, same server, same run, same
concurrency, same encryption, the same search attributes, memo and summary (the real work
of starting a journey that operators can find):

- API starts per second: N `POST /v1/journeys` through the web app (API key, rate limit,
  Idempotency-Key kept in the store, validation, the journeys folder's check) against N
  `client.start_workflow` calls with the same input, id policies and data converter
  (rounds interleaved, best of three); the API's p50 and p99. The HTTP client is aiohttp
  (a billing system's plausible client); the same starts through httpx are measured too,
  since the client shares the machine's two cores with the server (httpx costs about
  five times aiohttp's CPU a request);
- the CPU each process spends per start (this process, as the client; `journey web`;
  Temporal's dev server), so the next engineer sees where the cost is;
- `journey import` of M accounts (two files of M/2, a real run: every account started,
  each row's journey checked against the journeys folder, as `journey import` does)
  against the same starts in a bare loop with the importer's concurrency, interleaved.

    .venv/bin/python -m bench.intake [N] [M]      (default: 300 10000)

Take the figures on a machine at rest (`uptime` under 1.5): the client, `journey web`
and the dev server share its cores.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
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
from rapport.intake.importer import CONCURRENCY, Importer, journeys_library
from rapport.language.account import Account
from rapport.runtime.servers import free_port
from rapport.runtime.settings import Settings
from rapport.runtime.temporal import data_converter
from rapport.security.codec import new_key_line
from rapport.store.database import Store
from rapport.store.intake import ApiKeys, ImportBook

ROOT = Path(__file__).resolve().parent.parent
API_CONCURRENCY = 20
ROUNDS = 3


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


async def api_starts(
    base: str, key: str, ids: list[str], client: str = "aiohttp"
) -> tuple[float, list[float]]:
    """N starts through the API, API_CONCURRENCY in flight, through `client` (aiohttp or
    httpx): the rate and each request's latency."""
    latencies: list[float] = []

    def body(account_id: str) -> dict[str, object]:
        return {"account": account(account_id).model_dump(mode="json"), "journey": "early-stage"}

    if client == "httpx":
        async with httpx.AsyncClient(
            base_url=base,
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
            limits=httpx.Limits(max_connections=API_CONCURRENCY),
        ) as http:

            async def one(account_id: str) -> None:
                began = time.perf_counter()
                answer = await http.post(
                    "/v1/journeys",
                    json=body(account_id),
                    headers={"Idempotency-Key": uuid.uuid4().hex},
                )
                latencies.append(time.perf_counter() - began)
                assert answer.status_code == 201, answer.text

            with Timer() as timer:
                await gather_limited([lambda a=a: one(a) for a in ids], limit=API_CONCURRENCY)  # type: ignore[misc]
        return len(ids) / timer.seconds, latencies
    async with aiohttp.ClientSession(
        base_url=base,
        headers={"Authorization": f"Bearer {key}"},
        timeout=aiohttp.ClientTimeout(total=60),
        connector=aiohttp.TCPConnector(limit=API_CONCURRENCY),
    ) as session:

        async def sent(account_id: str) -> None:
            began = time.perf_counter()
            async with session.post(
                "/v1/journeys",
                json=body(account_id),
                headers={"Idempotency-Key": uuid.uuid4().hex},
            ) as answer:
                text = await answer.text()
                latencies.append(time.perf_counter() - began)
                assert answer.status == 201, text

        with Timer() as timer:
            await gather_limited([lambda a=a: sent(a) for a in ids], limit=API_CONCURRENCY)  # type: ignore[misc]
    return len(ids) / timer.seconds, latencies


def cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used so far (Linux: /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def temporal_pid(port: int) -> int:
    """The dev server listening on `port` (a process this one started)."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            args = cmdline.read_bytes().split(b"\0")
            ours = Path(args[0].decode()).name == "temporal" and b"--port" in args
            if ours and args[args.index(b"--port") + 1] == str(port).encode():
                return int(cmdline.parent.name)
    raise RuntimeError(f"no dev server process on port {port}")


@dataclass
class Cpu:
    """CPU ms per start of each process, summed over the rounds of one kind."""

    starts: int = 0
    seconds: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])

    def per_start(self) -> list[float]:
        return [s * 1000 / max(self.starts, 1) for s in self.seconds]


async def measured(cpu: Cpu, pids: list[int], ids: list[str], run: Any) -> Any:
    """`run()` with the CPU of each of `pids` counted into `cpu`."""
    before = [cpu_seconds(pid) for pid in pids]
    outcome = await run()
    cpu.starts += len(ids)
    for n, pid in enumerate(pids):
        cpu.seconds[n] += cpu_seconds(pid) - before[n]
    return outcome


def write_placements(file: Path, ids: list[str], journey: str = "early-stage") -> None:
    """A daily file of `ids`, as a billing system drops one for `journey import`."""
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
                    journey,
                ]
            )


def import_run(settings: Settings, client: Client, store: Store) -> Importer:
    """The importer as `journey import` builds it: each row's journey checked against the
    journeys folder (rapport.cli.intake)."""
    return Importer(
        Journeys(client, settings),
        ImportBook(store),
        library=journeys_library(settings.journeys_dir),
    )


async def imported(
    settings: Settings, client: Client, store: Store, ids: list[str], folder: Path
) -> float:
    file = folder / f"placements-{uuid.uuid4().hex[:6]}.csv"
    write_placements(file, ids)
    importer = import_run(settings, client, store)
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
                    await idle(web.pid)
                    return web
            await asyncio.sleep(0.1)
    web.kill()
    raise RuntimeError("journey web did not start")


def percentiles(latencies: list[float]) -> tuple[float, float]:
    """p50 and p99 in ms."""
    ordered = sorted(latencies)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.99) - 1] * 1000


async def idle(pid: int, within: float = 10.0) -> None:
    """Until the process uses no CPU for a tenth of a second (`journey web` warms up as
    it starts: neither round should share the machine with that)."""
    deadline = time.monotonic() + within
    used = cpu_seconds(pid)
    while time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        now = cpu_seconds(pid)
        if now - used < 0.005:
            return
        used = now


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
            address = server.client.service_client.config.target_host
            web = await web_process(settings, address)
            pids = [os.getpid(), web.pid, temporal_pid(int(address.rpartition(":")[2]))]
            cpu = {"bare": Cpu(), "aiohttp": Cpu(), "httpx": Cpu()}
            try:
                rates: dict[str, list[float]] = {"bare": [], "aiohttp": [], "httpx": []}
                latencies: dict[str, list[float]] = {"aiohttp": [], "httpx": []}
                for round_ in range(ROUNDS):  # interleaved, best of three
                    ids = [f"B{round_}-{i}" for i in range(n)]
                    rates["bare"].append(
                        await measured(
                            cpu["bare"],
                            pids,
                            ids,
                            lambda ids=ids: bare_starts(
                                client, settings.task_queue, ids, API_CONCURRENCY
                            ),
                        )
                    )
                    for kind in ("aiohttp", "httpx"):
                        ids = [f"A{kind[0]}{round_}-{i}" for i in range(n)]
                        rate, times = await measured(
                            cpu[kind],
                            pids,
                            ids,
                            lambda ids=ids, kind=kind: api_starts(
                                settings.portal_url, key, ids, kind
                            ),
                        )
                        rates[kind].append(rate)
                        latencies[kind] += times
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
    p50, p99 = percentiles(latencies["aiohttp"])
    api, plain, through_httpx = max(rates["aiohttp"]), max(rates["bare"]), max(rates["httpx"])
    print(
        f"intake on the dev server, encrypted, {API_CONCURRENCY} in flight "
        f"(best of {ROUNDS}, interleaved)"
    )
    print(f"  API starts:   {api:7.1f}/s  bare start_workflow: {plain:7.1f}/s", end="")
    print(f"  ratio {api / plain:.2f}  (client: aiohttp)")
    print(f"  API latency:  p50 {p50:.0f} ms, p99 {p99:.0f} ms")
    print(
        f"  through httpx: {through_httpx:6.1f}/s  ratio {through_httpx / plain:.2f}, "
        f"p99 {percentiles(latencies['httpx'])[1]:.0f} ms"
    )
    print("  CPU ms per start:        client  journey web  Temporal")
    for kind, label in (
        ("bare", "bare start_workflow"),
        ("aiohttp", "API, aiohttp"),
        ("httpx", "API, httpx"),
    ):
        mine, web_ms, temporal = cpu[kind].per_start()
        print(f"    {label:21} {mine:7.2f}  {web_ms:11.2f}  {temporal:8.2f}")
    print(
        f"  import of {m}: {import_rate:7.1f}/s  bare start_workflow ({CONCURRENCY} in flight): "
        f"{bare_import:7.1f}/s  ratio {import_rate / bare_import:.2f}"
    )
    record(
        {
            "intake_api_starts_per_s": round(api, 1),
            "intake_api_httpx_ratio": round(through_httpx / plain, 2),
            "intake_api_cpu_ms_per_start": {
                kind: dict(
                    zip(
                        ("client", "web", "temporal"),
                        [round(v, 2) for v in c.per_start()],
                        strict=True,
                    )
                )
                for kind, c in cpu.items()
            },
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
