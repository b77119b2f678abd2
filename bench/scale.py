"""Scale: N journeys waiting at once on one dev server and one worker process. Reports the
worker's memory (resident now and peak) and, while they wait, how long a payment takes
to end a journey (p50, p99); the baseline is a bare workflow waiting on a timer.

    .venv/bin/python -m bench.scale [N]          (default 2000; the issue's figure is 10000)
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from functools import partial
from pathlib import Path

from temporalio.client import Client

from bench.bare import BarePlan, BareWorkflow
from bench.common import dev_server, gather_limited, journey_input, new_queue
from bench.results import record
from rapport.contract.names import workflow_id
from rapport.contract.payloads import PaymentReceived
from workflows.journey import DelinquencyJourney

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = 200
WAITING = """\
id: bench
version: 1
name: Waits a month, then reminds
steps:
  - {id: hold, wait: 30d}
  - {id: remind, send: {channel: sms, template: note}}
"""


def memory_mb(pid: int) -> tuple[float, float]:
    """(resident, peak resident) of a process, in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text()
                  .splitlines() if ":" in line)
    return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)


def worker_process(address: str, queue: str, folder: Path, bare: bool) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TEMPORAL_ADDRESS": address, "JOURNEY_TASK_QUEUE": queue,
           "RAPPORT_JOURNEYS_DIR": str(folder / "journeys"), "RAPPORT_DATA_DIR": str(folder),
           "RAPPORT_OUTBOX_PATH": str(folder / "outbox.jsonl"),
           "RAPPORT_LEDGER_PATH": str(folder / "ledger.jsonl")}
    command = ["-m", "bench.bare_worker"] if bare else [str(ROOT / "worker.py")]
    return subprocess.Popen([sys.executable, *command], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def wait_started(client: Client, queue: str, n: int) -> None:
    """Until every workflow has run its first task (it is then waiting on its timer)."""
    query = f"TaskQueue = '{queue}' AND ExecutionStatus = 'Running'"
    while (await client.count_workflows(query)).count < n:
        await asyncio.sleep(1)
    await asyncio.sleep(3)


async def rapport(client: Client, address: str, n: int, folder: Path) -> dict[str, float]:
    queue = new_queue("scale")
    worker = worker_process(address, queue, folder, bare=False)
    try:
        started = time.perf_counter()
        await gather_limited([partial(
            client.start_workflow, DelinquencyJourney.run, _input(queue, i),
            id=workflow_id(f"{queue}-{i}"), task_queue=queue) for i in range(n)])
        await wait_started(client, queue, n)
        start_seconds = time.perf_counter() - started
        await asyncio.sleep(5)
        rss, peak = memory_mb(worker.pid)
        latencies = []
        for i in range(0, n, max(1, n // SAMPLE)):
            handle = client.get_workflow_handle(workflow_id(f"{queue}-{i}"))
            begin = time.perf_counter()
            await handle.signal("payment_received", PaymentReceived(
                amount=Decimal("120.00"), payment_id=f"bench-{i}"))
            await handle.result()
            latencies.append((time.perf_counter() - begin) * 1000)
    finally:
        worker.terminate()
        worker.wait()
    latencies.sort()
    return {"rss": rss, "peak": peak, "start_seconds": start_seconds,
            "p50": statistics.median(latencies),
            "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]}


async def bare(client: Client, address: str, n: int, folder: Path) -> dict[str, float]:
    queue = new_queue("scale-bare")
    worker = worker_process(address, queue, folder, bare=True)
    plan = BarePlan(activities=1, timers=1, timer_seconds=30 * 86400)
    try:
        await gather_limited([partial(client.start_workflow, BareWorkflow.run, plan,
                                      id=f"{queue}-{i}", task_queue=queue) for i in range(n)])
        await wait_started(client, queue, n)
        await asyncio.sleep(5)
        rss, peak = memory_mb(worker.pid)
    finally:
        worker.terminate()
        worker.wait()
    return {"rss": rss, "peak": peak}


def _input(queue: str, index: int):  # type: ignore[no-untyped-def]
    request = journey_input(index)
    request.account.account_id = f"{queue}-{index}"
    request.journey = "bench"
    return request


async def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "journeys" / "templates").mkdir(parents=True)
        (folder / "journeys" / "bench.yaml").write_text(WAITING)
        (folder / "journeys" / "templates" / "note.sms.j2").write_text(
            "{{ balance }} due. {{ opt_out }}")
        async with dev_server() as server:
            address = server.client.service_client.config.target_host
            base = await bare(server.client, address, n, folder)
            ours = await rapport(server.client, address, n, folder)
    print(f"{n} waiting journeys on one dev server and one worker process (cache 1000):")
    print(f"  {'':<34}{'Rapport':>10}{'bare':>10}{'ratio':>8}")
    print(f"  {'worker resident memory, MB':<34}{ours['rss']:>10.0f}{base['rss']:>10.0f}"
          f"{ours['rss'] / base['rss']:>8.2f}")
    print(f"  {'worker peak memory, MB':<34}{ours['peak']:>10.0f}{base['peak']:>10.0f}"
          f"{ours['peak'] / base['peak']:>8.2f}")
    print(f"  payment to journey end while they wait: p50 {ours['p50']:.0f} ms, "
          f"p99 {ours['p99']:.0f} ms ({SAMPLE} payments)")
    print(f"  starting them took {ours['start_seconds']:.0f} s")
    record({"scale_journeys": n, "idle_worker_rss_mb": round(ours["rss"], 1),
            "idle_worker_peak_mb": round(ours["peak"], 1),
            "idle_bare_worker_rss_mb": round(base["rss"], 1),
            "payment_to_end_p50_ms": round(ours["p50"], 1),
            "payment_to_end_p99_ms": round(ours["p99"], 1)})


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
