"""The benchmarks still run and write the figures `docs/performance.md` and the README
quote: each at a tiny size, into a temporary results file (timings are not checked
here; `make bench` measures them)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import cast

import pytest
from temporalio.client import Client

from bench import codec, intake, portal, replay, results, scale, simulate, stops, throughput
from rapport.runtime.settings import Settings
from tests.stores import migrated_sqlite

ROOT = Path(__file__).resolve().parents[2]

REQUIRED = {
    "throughput_ratio",
    "replay_ratio",
    "events_per_message",
    "simulate_120d_seconds",
    "idle_worker_rss_mb",
    "payment_to_end_p99_ms",
    "codec_cpu_ratio",
    "portal_sqlite_landing_ratio",
    "portal_postgresql_landing_ratio",
    "throughput_sqlite_ratio",
    "throughput_postgresql_ratio",
    "stop_to_store_ms_max",
    "stop_to_cancel_ms_max",
    "provider_call_ms_median",
    "intake_api_ratio",
    "intake_import_ratio",
}


@pytest.mark.slow  # every benchmark, each on its own real server, in real time
@pytest.mark.postgres  # bench.portal measures on pgserver too
def test_every_benchmark_writes_its_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "results.json"
    monkeypatch.setattr(results, "RESULTS", target)
    asyncio.run(simulate.main())
    replay.main()
    asyncio.run(throughput.main([5]))
    asyncio.run(stops.main(2))
    asyncio.run(scale.main(20))
    codec.main(5)
    asyncio.run(portal.main(40))
    asyncio.run(intake.main(10, 20))
    figures = json.loads(target.read_text())
    assert set(figures) >= REQUIRED
    assert all(figures[key] > 0 for key in REQUIRED)


async def test_the_bench_imports_as_journey_import_does(tmp_path: Path) -> None:
    """Review of issue 27 (third pass): the bench's import left out the journeys folder,
    so it did not measure the check `journey import` makes of each row's journey. A row
    naming a journey the folder does not have is bad before anything reaches Temporal."""
    settings = Settings(data_dir=tmp_path, journeys_dir=ROOT / "journeys")
    store = migrated_sqlite(tmp_path / "rapport.db")
    file = tmp_path / "placements.csv"
    intake.write_placements(file, ["B-1", "B-2"], journey="no-such-journey")
    nowhere = cast(Client, None)  # nothing may reach Temporal
    try:
        summary = await intake.import_run(settings, nowhere, store).file(file)
    finally:
        store.dispose()
    assert (summary.bad, summary.started) == (2, 0)
