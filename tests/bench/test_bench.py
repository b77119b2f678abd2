"""The benchmarks still run and write the figures `docs/performance.md` and the README
quote: each at a tiny size, into a temporary results file (timings are not checked
here; `make bench` measures them)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bench import codec, intake, portal, replay, results, scale, simulate, stops, throughput

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
