"""Record one history per shipped journey for the replay tests.

    .venv/bin/python -m tests.workflows.histories.record

Run it when a shipped journey or an example scenario changes on purpose, and
commit the JSON files. Before re-recording after a workflow change guarded by
`workflow.patched`, move the current files to a folder of their own (as
`legacy/` holds the histories from before the operator view and
`publish-every-step/` those from before publishing only at rest), so both paths
stay tested. Never re-record to make a failing replay test pass:
that failure means a change would break running journeys (use
`workflow.patched` instead).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from rapport.simulation.runner import simulate
from rapport.simulation.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent

RECORDED = {
    "pre_due": "due_soon_pays_on_time.yaml",
    "early_stage_plan": "card_declined_partial_then_plan.yaml",
    "early_stage_handoff": "behind_no_response.yaml",
    "hardship": "hardship_plan.yaml",
}


async def record() -> None:
    for name, scenario in RECORDED.items():
        run = await simulate(load_scenario(ROOT / "examples" / "scenarios" / scenario))
        target = HERE / f"{name}.json"
        target.write_text(json.dumps(json.loads(run.history.to_json()), indent=1) + "\n")
        print(f"{target.relative_to(ROOT)}: {len(run.history.events)} events")


if __name__ == "__main__":
    asyncio.run(record())
