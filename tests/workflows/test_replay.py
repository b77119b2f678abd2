"""Recorded histories of every shipped journey must replay on the code that runs them.

A failure here means a change would break journeys that are running now: guard the
change with `workflow.patched(...)` rather than re-recording. Version 2 histories
replay on today's workflow, with the pinned definitions they name by hash (the
archive, as a worker reads it from the store). `v2/zone-from-wall-clock/` holds
version 2 as recorded before `prepare_journey` read the zone rules at the journey's
time (a second local activity in simulations). `v2/plans-in-cents/` holds a yen plan
offered before plans were cut in the currency's minor units (3 x 3333.33 JPY);
`v2/early_stage_plan_jpy` the same journey after: the `plans-in-minor-units` patch,
decided at the start of each run (3333, 3333, 3334). `v2/intake/` holds journeys
recorded under the `intake` patch (the thank-you at once, no gap or cap; search
attributes from the workflow itself); the histories beside it are the behaviour before
(pre_due's thank-you waited out the one-day gap). `v2/continued/` holds a journey that
continued as new in the middle of a wait, both runs: the second starts from the state the
first carried; `v2/continued/before-stops/` the same recorded by the build before the
stops patch (commit c1e442d), so a new build is shown to take up the state an older one
carried (test_evolution.py reads that state field by field). `v2/migrated/` holds a
journey moved from version 1 of its definition to version 2 where it rested in its wait
(`migrate_to` under the `migrations` patch, the version resolved by a local activity,
the continue-as-new), both runs.
`v2/follow_up_*` are journeys that use
`wait_until`, the journey's facts (a template reading `journey.amount_paid`, carried by
its send) and a transactional thank-you: none of which a journey pinned before them can
meet (their definitions are refused by older loaders, and the hash pins each running
journey's), so they needed no patch, and these histories keep them from changing.
`v2/before-plans/` holds the plans accepted before the `plans` patch: accepting one
ended the journey `plan_accepted`; `v2/early_stage_plan_{kept,broken,refund}` the same
journey's plans followed under it (paid off; broken, then a second plan kept; an
installment refunded and paid again).
`v2/before-rules/` holds
version 2 before the `rules` patch (no rule packs at send time: one zone, the silent voice
floor), with journeys of the tests' own (`histories/scenarios/`): a daily text to a
Massachusetts customer, a New York number with a California address, daily calls, Irish
calls across St Patrick's Day, the follow-up journeys (wait_until, facts, transactional) and
the migrated journey (`migrated/`), recorded on main before the rules landed, and
(`with-plans/`) the shipped scenarios and the plans followed
(`early_stage_plan_{kept,broken,refund}`) on main with the `plans` patch, before the rules, and (`rules_conversation_unknown`, recorded
once by hand) a raw `conversation` signal sent to code that had no such signal.

`v2/release-3984c13/` holds the shipped scenarios recorded on the last release (3984c13,
stop 28), before any of the wave's patches: journeys started there must replay here.

Version 1 of the workflow is retired: nothing replays its histories any more, so they
and their test are gone (docs/operating.md, "Upgrading", says how an operator finds
and finishes version-1 journeys).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer

from rapport.catalog import registry
from rapport.runtime.settings import Settings
from rapport.runtime.temporal import data_converter
from tests.workflows.histories.record import load_archive
from workflows.journey import DelinquencyJourney
from workflows.sandbox import workflow_runner

FOLDER = Path(__file__).parent / "histories"
V2 = sorted(p for p in (FOLDER / "v2").rglob("*.json") if p.name != "journeys.json")
ENCRYPTED = sorted(p for p in (FOLDER / "v2-encrypted").glob("*.json") if p.name != "journeys.json")


@pytest.fixture
def archive() -> Iterator[None]:
    registry.forget()
    yield
    registry.install(None)


@pytest.mark.parametrize(
    "folder",
    [
        "v2",
        "v2/zone-from-wall-clock",
        "v2/before-stops",
        "v2/before-rules",
        "v2/release-3984c13",
        "v2-encrypted",
    ],
)
def test_every_shipped_journey_has_a_recorded_history(folder: str) -> None:
    names = {
        p.stem.split("_plan")[0].split("_handoff")[0] for p in (FOLDER / folder).glob("*.json")
    }
    assert {"pre_due", "early_stage", "hardship"} <= names


@pytest.mark.parametrize(
    "path", V2, ids=[str(p.relative_to(FOLDER / "v2").with_suffix("")) for p in V2]
)
async def test_version_2_history_replays(path: Path, archive: None) -> None:
    registry.install(load_archive(path.parent / "journeys.json").load)  # what it pinned
    await replay(DelinquencyJourney, path)


@pytest.mark.parametrize("path", ENCRYPTED, ids=[p.stem for p in ENCRYPTED])
async def test_encrypted_history_replays_with_its_key(path: Path, archive: None) -> None:
    """Recorded with RAPPORT_ENCRYPTION_KEYS set to the test key beside them (a key for
    this test only): the codec sits under the replay as under a worker."""
    registry.install(load_archive(path.parent / "journeys.json").load)
    keys = (path.parent / "KEYS").read_text().strip()
    await replay(DelinquencyJourney, path, data_converter(Settings(encryption_keys=keys)))


async def replay(workflow: type, path: Path, converter: DataConverter | None = None) -> None:
    replayer = Replayer(
        workflows=[workflow],
        workflow_runner=workflow_runner(),
        data_converter=converter or data_converter(),
    )
    history = WorkflowHistory.from_json(f"replay-{path.stem}", path.read_text())
    await replayer.replay_workflow(history)
