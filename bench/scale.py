"""Scale: N journeys waiting at once on one dev server and one worker process (`python
worker.py`, as deployed). Reports the worker's memory once every journey's first workflow
task has completed, and, with payments arriving at a steady 50 a second, how long a
payment takes to end its journey (p50, p99). The baseline is the plain workflow of the
same shape (a month's wait, then a message) in its own worker process.

    .venv/bin/python -m bench.scale [N]          (default 2000; the issue's figure is 10000)
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client, WorkflowHandle

from bench.common import dev_server, gather_limited, new_queue, start_journey
from bench.plain import PlainJourney, PlainShape
from bench.results import record
from rapport.contract.payloads import PaymentReceived
from rapport.runtime.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
PAYMENTS = 500  # sampled journeys paid, at a steady rate
RATE = 50.0  # payments a second
MONTH = 30 * 86400
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
    fields = dict(
        line.split(":", 1)
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if ":" in line
    )
    return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)


def worker_process(address: str, queue: str, folder: Path, plain: bool) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": address,
        "JOURNEY_TASK_QUEUE": queue,
        "RAPPORT_JOURNEYS_DIR": str(folder / "journeys"),
        "RAPPORT_DATA_DIR": str(folder),
        "RAPPORT_OUTBOX_PATH": str(folder / "outbox.jsonl"),
        "RAPPORT_ENVIRONMENT": "development",  # the dev provider and secrets, on loopback
        "RAPPORT_WORKER_MAX_CACHED_WORKFLOWS": str(Settings().worker_max_cached_workflows),
    }
    command = ["-m", "bench.plain"] if plain else [str(ROOT / "worker.py")]
    return subprocess.Popen(
        [sys.executable, *command],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def backlog(client: Client, queue: str) -> int:
    described = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            report_stats=True,
        )
    )
    return int(described.stats.approximate_backlog_count)


async def all_waiting(client: Client, queue: str, handles: list[WorkflowHandle]) -> float:  # type: ignore[type-arg]
    """Seconds until every journey's first workflow task has completed (no task waits on the
    queue, and each history shows a completed task)."""
    started = time.perf_counter()
    while await backlog(client, queue) > 0:  # noqa: ASYNC110  (polling another process's state: there is no event to await)
        await asyncio.sleep(1)
    pending = list(handles)
    while pending:
        lengths = await gather_limited([partial(_history_length, h) for h in pending])
        pending = [h for h, length in zip(pending, lengths, strict=True) if length < 4]
        if pending:
            await asyncio.sleep(1)
    return time.perf_counter() - started


async def _history_length(handle: WorkflowHandle) -> int:  # type: ignore[type-arg]
    return int((await handle.describe()).raw_description.workflow_execution_info.history_length)


async def steady_payments(
    handles: list[WorkflowHandle],  # type: ignore[type-arg]
    pay: Callable[[WorkflowHandle[Any, Any], int], object],
) -> list[float]:
    """Pay a sample of the journeys, one every 1/RATE s; each latency is from the signal to
    the journey's end."""
    sample = random.Random(7).sample(handles, min(PAYMENTS, len(handles)))

    async def one(index: int, handle: WorkflowHandle) -> float:  # type: ignore[type-arg]
        await asyncio.sleep(index / RATE)
        begin = time.perf_counter()
        await pay(handle, index)  # type: ignore[misc]
        await handle.result()
        return (time.perf_counter() - begin) * 1000

    return sorted(await asyncio.gather(*(one(i, h) for i, h in enumerate(sample))))


async def rapport(client: Client, address: str, n: int, folder: Path) -> dict[str, float]:
    queue = new_queue("scale")
    worker = worker_process(address, queue, folder, plain=False)
    try:
        handles = await gather_limited(
            [partial(start_journey, client, queue, f"S{i}") for i in range(n)]
        )
        seconds = await all_waiting(client, queue, handles)
        await asyncio.sleep(5)
        rss, peak = memory_mb(worker.pid)

        async def pay(handle: WorkflowHandle, index: int) -> None:  # type: ignore[type-arg]
            await handle.signal(
                "payment_received",
                PaymentReceived(amount=Decimal("120.00"), payment_id=f"bench-{index}"),
            )

        latencies = await steady_payments(handles, pay)
    finally:
        worker.terminate()
        worker.wait()
    return {"rss": rss, "peak": peak, "waiting_after_s": seconds, **_percentiles(latencies)}


async def plain(client: Client, address: str, n: int, folder: Path) -> dict[str, float]:
    queue = new_queue("scale-plain")
    worker = worker_process(address, queue, folder, plain=True)
    shape = PlainShape(sends=1, waits=0, first_wait_seconds=MONTH)
    try:
        handles = await gather_limited(
            [
                partial(
                    client.start_workflow,
                    PlainJourney.run,
                    shape,
                    id=f"{queue}-{i}",
                    task_queue=queue,
                )
                for i in range(n)
            ]
        )
        await all_waiting(client, queue, handles)
        await asyncio.sleep(5)
        rss, peak = memory_mb(worker.pid)
    finally:
        worker.terminate()
        worker.wait()
    return {"rss": rss, "peak": peak}


def _percentiles(latencies: list[float]) -> dict[str, float]:
    return {
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }


async def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "journeys" / "templates").mkdir(parents=True)
        (folder / "journeys" / "bench.yaml").write_text(WAITING)
        (folder / "journeys" / "templates" / "note.sms.j2").write_text(
            "{{ balance }} due. {{ opt_out }}"
        )
        async with dev_server() as server:
            address = server.client.service_client.config.target_host
            base = await plain(server.client, address, n, folder)
            ours = await rapport(server.client, address, n, folder)
    cache = Settings().worker_max_cached_workflows
    print(f"{n} waiting journeys on one dev server and one worker process (cache {cache}):")
    print(f"  {'':<34}{'Rapport':>10}{'plain':>10}{'ratio':>8}")
    for label, key in (("worker resident memory, MB", "rss"), ("worker peak memory, MB", "peak")):
        print(f"  {label:<34}{ours[key]:>10.0f}{base[key]:>10.0f}{ours[key] / base[key]:>8.2f}")
    print(f"  per waiting journey: {(ours['rss'] - base['rss']) * 1024 / n:.1f} KB more than plain")
    print(
        f"  payment to journey end, {min(PAYMENTS, n)} payments at {RATE:.0f}/s: "
        f"p50 {ours['p50']:.0f} ms, p99 {ours['p99']:.0f} ms"
    )
    print(f"  all waiting {ours['waiting_after_s']:.0f} s after the last start")
    record(
        {
            "scale_journeys": n,
            "idle_worker_rss_mb": round(ours["rss"], 1),
            "idle_worker_peak_mb": round(ours["peak"], 1),
            "idle_plain_worker_rss_mb": round(base["rss"], 1),
            "payment_to_end_p50_ms": round(ours["p50"], 1),
            "payment_to_end_p99_ms": round(ours["p99"], 1),
        }
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
