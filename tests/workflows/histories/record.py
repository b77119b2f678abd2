"""Record one history per shipped journey for the replay tests.

    .venv/bin/python -m tests.workflows.histories.record

Run it when a shipped journey or an example scenario changes on purpose, and commit
the JSON files: `v2/<name>.json` and `v2/journeys.json` (the pinned definitions those
histories name by hash, as the store's archive would hold them). Never re-record to
make a failing replay test pass: that failure means a change would break running
journeys (guard the change with `workflow.patched` instead). Before re-recording after
a patched change, move the current files to a folder of their own, as
`v2/zone-from-wall-clock/` holds an older version 2's, so both paths stay tested.

    .venv/bin/python -m tests.workflows.histories.record v2/plans-in-cents early_stage_plan_jpy

records only the histories named (into that folder), adding their pinned journeys to
the folder's `journeys.json`.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from rapport.catalog.archive import MemoryArchive
from rapport.catalog.pinned import PinnedJourney
from rapport.language.models import JourneyDefinition
from rapport.language.templates import TemplateBundle
from rapport.simulation.runner import simulate
from rapport.simulation.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
CURRENT = HERE / "v2"

RECORDED = {
    "pre_due": "due_soon_pays_on_time.yaml",
    "early_stage_plan": "card_declined_partial_then_plan.yaml",
    "early_stage_handoff": "behind_no_response.yaml",
    "hardship": "hardship_plan.yaml",
    "early_stage_plan_jpy": "yen_plan.yaml",
    "early_stage_stops": "opt_out_then_cease.yaml",
    "early_stage_dispute": "night_owl_dispute.yaml",
}


def save_archive(journeys: list[PinnedJourney], path: Path, keep: bool = False) -> None:
    """Write the pinned journeys; `keep`: beside those the file already holds."""
    data = json.loads(path.read_text()) if keep and path.exists() else {}
    data |= {
        j.pin.hash: {
            "definition": j.definition.model_dump(mode="json"),
            "templates": dict(j.templates.sources),
            "source": j.source,
        }
        for j in journeys
    }
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def load_archive(path: Path) -> MemoryArchive:
    archive = MemoryArchive()
    for stored in json.loads(path.read_text()).values():
        archive.save(
            PinnedJourney.of(
                JourneyDefinition.model_validate(stored["definition"]),
                TemplateBundle(stored["templates"]),
                stored["source"],
            )
        )
    return archive


async def record(folder: Path = CURRENT, names: list[str] | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    journeys = []
    for name, scenario in RECORDED.items():
        if names and name not in names:
            continue
        loaded = load_scenario(ROOT / "examples" / "scenarios" / scenario)
        run = await simulate(loaded)
        journeys.append(PinnedJourney.loaded(loaded.journey))
        target = folder / f"{name}.json"
        target.write_text(json.dumps(json.loads(run.history.to_json()), indent=1) + "\n")
        print(f"{target.relative_to(ROOT)}: {len(run.history.events)} events")
    save_archive(journeys, folder / "journeys.json", keep=bool(names))


if __name__ == "__main__":
    import sys

    # `... record v2-encrypted` with RAPPORT_ENCRYPTION_KEYS set to v2-encrypted/KEYS
    folder, *only = sys.argv[1:] or [str(CURRENT)]
    asyncio.run(record(HERE / folder, only or None))
