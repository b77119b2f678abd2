"""What encrypting customer data in Temporal's history costs: the benchmark journey's
throughput on the dev server, and the worker's CPU per step when replaying, each with
and without the payload codec, in the same process on the same server (target: at most
1.1x the CPU).

    .venv/bin/python -m bench.codec [N]      (default 300)
"""

from __future__ import annotations

import asyncio
import sys
import uuid

from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer

from bench import throughput
from bench.common import bench_definition, bench_parts, dev_server, start_journey
from bench.replay import replay_cpu_ms
from bench.results import record
from rapport.runtime.servers import start_time_skipping
from rapport.runtime.settings import Settings
from rapport.runtime.temporal import data_converter, plain_data_converter
from rapport.runtime.workers import build_worker
from rapport.security.codec import new_key_line
from workflows.journey import DelinquencyJourney
from workflows.sandbox import workflow_runner

ROUNDS = 2
ENCRYPTING = data_converter(Settings(encryption_keys=new_key_line("bench")))


def using(client: Client, converter: DataConverter) -> Client:
    return Client(client.service_client, namespace=client.namespace, data_converter=converter)


async def rates(n: int) -> tuple[float, float]:
    """Journeys a second, plain and encrypted, best of two interleaved rounds each."""
    plain, encrypted = [], []
    async with dev_server() as server:
        for _ in range(ROUNDS):
            plain.append(
                (await throughput.rapport(using(server.client, plain_data_converter()), n))[0]
            )
            encrypted.append((await throughput.rapport(using(server.client, ENCRYPTING), n))[0])
    return max(plain), max(encrypted)


async def histories() -> tuple[WorkflowHistory, WorkflowHistory]:
    """The benchmark journey recorded once in plain text and once encrypted."""
    env = await start_time_skipping(plain_data_converter())
    recorded = []
    async with env:
        for converter in (plain_data_converter(), ENCRYPTING):
            client = using(env.client, converter)
            queue = f"codec-{uuid.uuid4()}"
            async with build_worker(client, queue, bench_parts(bench_definition())):
                handle = await start_journey(client, queue, queue)
                await handle.result()  # its one-second waits pass in real time
            recorded.append(await handle.fetch_history())
    return recorded[0], recorded[1]


def replay_costs(plain: WorkflowHistory, encrypted: WorkflowHistory) -> tuple[float, float]:
    def replayer(converter: DataConverter) -> Replayer:
        return Replayer(
            workflows=[DelinquencyJourney],
            workflow_runner=workflow_runner(),
            data_converter=converter,
        )

    return (
        replay_cpu_ms(replayer(plain_data_converter()), plain),
        replay_cpu_ms(replayer(ENCRYPTING), encrypted),
    )


def main(n: int = 300) -> None:
    plain_rate, encrypted_rate = asyncio.run(rates(n))
    plain_cpu, encrypted_cpu = replay_costs(*asyncio.run(histories()))
    print(f"the payload codec (AES-256-GCM), {n} journeys on the dev server and replays:")
    print(f"  {'':<28}{'plain':>10}{'encrypted':>11}{'ratio':>8}")
    print(
        f"  {'journeys a second':<28}{plain_rate:>10.1f}{encrypted_rate:>11.1f}"
        f"{encrypted_rate / plain_rate:>8.2f}"
    )
    print(
        f"  {'worker CPU per step, ms':<28}{plain_cpu:>10.2f}{encrypted_cpu:>11.2f}"
        f"{encrypted_cpu / plain_cpu:>8.2f}"
    )
    record(
        {
            "codec_throughput_ratio": round(encrypted_rate / plain_rate, 2),
            "codec_cpu_ratio": round(encrypted_cpu / plain_cpu, 2),
            "codec_cpu_ms_per_step": round(encrypted_cpu, 2),
        }
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
