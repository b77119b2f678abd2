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

    .venv/bin/python -m tests.workflows.histories.record v2/continued continued

records a journey that continues as new with its state (`record_continued`): both runs,
the second starting from what the first carried. Keep the files of earlier builds: a
new build must read the state an older one carried. `... record v2/migrated migrated`
records a journey moved from version 1 to version 2 of its definition.

    .venv/bin/python -m tests.workflows.histories.record v2 continued_opt_out

records `continued_opt_out.json`: the second run of a journey that continued as new
during a wait and then heard an opt-out (a run that begins with carried state; where it
asks for the stops patch, test_patches_first.py).

    .venv/bin/python -m tests.workflows.histories.record v2 two_arguments

records `two_arguments.json`: signals sent with two arguments, refused, and an opt-out
sent with two, taken from the first (`record_two_arguments`; `v2/before-arguments` holds
the build before, which dropped one).
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.common import RawValue

from rapport.catalog.archive import MemoryArchive
from rapport.catalog.pinned import PinnedJourney
from rapport.contract.names import ACCEPT_PLAN_UPDATE, workflow_id
from rapport.contract.payloads import Engagement, MigrateTo, OptOut, PaymentReceived
from rapport.contract.records import AcceptedPlan
from rapport.contract.search_attributes import starting
from rapport.language.account import Account
from rapport.language.loader import load_journey
from rapport.language.models import JourneyDefinition
from rapport.language.templates import TemplateBundle
from rapport.providers.outbox import Capture
from rapport.runtime.servers import start_time_skipping
from rapport.runtime.settings import load_settings
from rapport.runtime.workers import EngineParts, build_worker
from rapport.simulation.runner import simulate
from rapport.simulation.scenario import load_scenario
from workflows.journey import DelinquencyJourney
from workflows.state import JourneyInput

ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
CURRENT = HERE / "v2"

SCENARIOS = HERE / "scenarios"  # journeys and scenarios of the tests only (no expectations)
RECORDED: dict[str, str | Path] = {
    "pre_due": "due_soon_pays_on_time.yaml",
    "early_stage_plan": "card_declined_partial_then_plan.yaml",
    "early_stage_handoff": "behind_no_response.yaml",
    "hardship": "hardship_plan.yaml",
    "early_stage_plan_jpy": "yen_plan.yaml",
    "early_stage_stops": "opt_out_then_cease.yaml",
    "early_stage_dispute": "night_owl_dispute.yaml",
    "follow_up_reply": "follow_up_reply.yaml",
    "follow_up_part_payment": "follow_up_part_payment.yaml",
    "early_stage_plan_kept": "plan_kept.yaml",  # the plans patch: a plan followed to paid
    "early_stage_plan_broken": "plan_missed_then_second_plan.yaml",  # broken, a second kept
    "early_stage_plan_refund": "plan_refund.yaml",  # an installment refunded, paid again
    # the rule packs (a Massachusetts cap, every possible zone, calls and Irish holidays)
    "rules_massachusetts": SCENARIOS / "massachusetts_texts.yaml",
    "rules_new_yorker_in_california": SCENARIOS / "new_yorker_in_california.yaml",
    "rules_daily_calls": SCENARIOS / "daily_calls_us.yaml",
    "rules_irish_calls": SCENARIOS / "irish_calls_st_patrick.yaml",
}


def scenario_path(scenario: str | Path) -> Path:
    """A shipped example's name, or a path of the tests' own scenarios."""
    return scenario if isinstance(scenario, Path) else ROOT / "examples" / "scenarios" / scenario


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


CONTINUED = "card_declined_partial_then_plan.yaml"  # the account and journey it runs
CONTINUED_AS_NEW = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW


async def record_continued(folder: Path) -> None:
    """A journey that continues as new in the middle of a wait, carrying a rich state: a
    reminder sent, an opt-out of sms, a part payment and its thank-you, engagement, the
    wait under way. Its `history_limit` is the least allowed (100) and engagement events
    fill the history, so it continues at its next rest; it then offers a plan, which the
    customer accepts. Writes `<name>_run1.json` (ends continued as new) and
    `<name>_run2.json` (starts from the carried state)."""
    loaded = load_scenario(ROOT / "examples" / "scenarios" / CONTINUED)
    account = loaded.account
    parts = EngineParts(
        journeys=[loaded.journey.path], channels={"*": Capture()}, signer=load_settings().signer()
    )
    env = await start_time_skipping()
    async with env:
        queue = f"record-{uuid.uuid4()}"
        async with build_worker(env.client, queue, parts):
            handle = await env.client.start_workflow(
                DelinquencyJourney.run,
                JourneyInput(
                    account=account, journey=loaded.journey.definition.id, history_limit=100
                ),
                id=workflow_id(account.account_id),
                task_queue=queue,
                search_attributes=starting(account),
                memo={"currency": account.currency},
            )
            await env.sleep(timedelta(days=1))  # the reminder went; the first wait is under way
            await handle.signal("opt_out", OptOut(channel="sms"))
            await handle.signal(
                "payment_received", PaymentReceived(amount="234.50", payment_id="p-1")
            )
            await env.sleep(timedelta(hours=2))
            for _ in range(30):
                await handle.signal("engagement", Engagement(kind="opened"))
            await env.sleep(timedelta(days=8))  # continued as new; options, then the offer
            latest = env.client.get_workflow_handle(handle.id)
            accepted = await latest.execute_update(
                ACCEPT_PLAN_UPDATE, {"installments": 3}, result_type=AcceptedPlan
            )
            assert accepted.installments == 3
            await latest.result()
            runs = env.client.get_workflow_handle(handle.id, run_id=handle.result_run_id)
            first = await runs.fetch_history()
            assert first.events[-1].event_type == CONTINUED_AS_NEW
            second = await latest.fetch_history()
            started = second.events[0].workflow_execution_started_event_attributes
            assert started.continued_execution_run_id == handle.result_run_id
    folder.mkdir(parents=True, exist_ok=True)
    for number, history in enumerate((first, second), start=1):
        _write(history, folder / f"continued_run{number}.json")
    save_archive([PinnedJourney.loaded(loaded.journey)], folder / "journeys.json", keep=True)


async def record_migrated(folder: Path) -> None:
    """A journey on version 1 of `moving` (tests/workflows/test_migration.py) moved to
    version 2 where it rests in its wait (`migrate_to`, the pin resolved by a local
    activity, continue-as-new), then following version 2 to its end. Writes
    `migrated_run1.json` and `migrated_run2.json`."""
    from tests.journey_files import write_journey
    from tests.scenarios import account
    from tests.workflows.test_migration import V1, V2, continued

    with tempfile.TemporaryDirectory() as scratch:
        journeys = Path(scratch)
        write_journey(journeys, V1, name="moving_v1.yaml")
        archive = MemoryArchive()
        parts = EngineParts(
            journeys=[journeys],
            channels={"*": Capture()},
            signer=load_settings().signer(),
            archive=archive,
        )
        customer = Account.model_validate(account(account_id="M-1", customer__timezone="Etc/GMT"))
        env = await start_time_skipping()
        async with env:
            queue = f"record-{uuid.uuid4()}"
            async with build_worker(env.client, queue, parts):
                now = await env.get_current_time()
                await env.sleep(timedelta(hours=(9 - now.hour) % 24 + 1))  # inside the window
                handle = await env.client.start_workflow(
                    DelinquencyJourney.run,
                    JourneyInput(account=customer, journey="moving"),
                    id=workflow_id(customer.account_id),
                    task_queue=queue,
                    search_attributes=starting(customer),
                )
                await env.sleep(timedelta(hours=1))
                write_journey(journeys, V2, name="moving_v2.yaml")
                await handle.signal("migrate_to", MigrateTo(version=2))
                latest = env.client.get_workflow_handle(handle.id)
                await continued(env.client, handle)
                await env.sleep(timedelta(days=8))
                await latest.result()
                runs = env.client.get_workflow_handle(handle.id, run_id=handle.result_run_id)
                first, second = await runs.fetch_history(), await latest.fetch_history()
                assert first.events[-1].event_type == CONTINUED_AS_NEW
        folder.mkdir(parents=True, exist_ok=True)
        for number, history in enumerate((first, second), start=1):
            _write(history, folder / f"migrated_run{number}.json")
        save_archive(list(archive.kept.values()), folder / "journeys.json", keep=True)


def _write(history: WorkflowHistory, target: Path) -> None:
    target.write_text(json.dumps(json.loads(history.to_json()), indent=1) + "\n")
    print(f"{target.relative_to(ROOT)}: {len(history.events)} events")


async def record(folder: Path = CURRENT, names: list[str] | None = None) -> None:
    if names == ["continued"]:
        await record_continued(folder)
        return
    if names == ["migrated"]:
        await record_migrated(folder)
        return
    folder.mkdir(parents=True, exist_ok=True)
    journeys = []
    for name, scenario in RECORDED.items():
        if names and name not in names:
            continue
        loaded = load_scenario(scenario_path(scenario))
        run = await simulate(loaded)
        journeys.append(PinnedJourney.loaded(loaded.journey))
        _write(run.history, folder / f"{name}.json")
    save_archive(journeys, folder / "journeys.json", keep=bool(names))


CONTINUED = """\
id: continued
version: 1
name: A text, a long wait, an email
steps:
  - {id: nudge, send: {channel: sms, template: nudge}}
  - {id: pause, wait: 30d}
  - {id: mail, send: {channel: email, template: reminder}}
"""


async def continued_run(env: Any, journeys: Path) -> WorkflowHistory:
    """The continued run of a journey: it continues as new during its wait (signals fill
    its history), then hears an opt-out from email, so its last step is skipped."""
    from rapport.security.links import LinkSigner
    from tests.journey_files import write_journey
    from tests.scenarios import account

    write_journey(journeys, CONTINUED)
    parts = EngineParts(journeys=[journeys], channels={"*": Capture()}, signer=LinkSigner("k"))
    async with build_worker(env.client, "record-continued", parts):
        handle = await env.client.start_workflow(
            "DelinquencyJourney",
            {
                "account": account(customer__timezone="Etc/GMT"),
                "journey": "continued",
                "history_limit": 100,
            },
            id=workflow_id("R-1"),
            task_queue="record-continued",
        )
        await env.sleep(timedelta(days=1))
        for _ in range(60):  # each signal adds history while the journey waits
            await handle.signal("engagement", {"kind": "opened"})
        await env.sleep(timedelta(days=1))
        await handle.signal("opt_out", {"channel": "email"})
        await handle.result()
        described = await handle.describe()
        assert described.run_id != handle.first_execution_run_id, "it did not continue"
        last = env.client.get_workflow_handle(handle.id, run_id=described.run_id)
        history: WorkflowHistory = await last.fetch_history()
        return history


async def record_continued_opt_out(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as journeys:
        async with await start_time_skipping() as env:
            history = await continued_run(env, Path(journeys))
        pinned = PinnedJourney.loaded(load_journey(Path(journeys) / "journey.yaml"))
    _write(history, folder / "continued_opt_out.json")
    save_archive([pinned], folder / "journeys.json", keep=True)


UNDECODABLE = Payload(metadata={"encoding": b"binary/protobuf"}, data=b"\x08\x01")


async def record_two_arguments(folder: Path, decodable: bool = True) -> None:
    """A journey resting in its wait hears `payment_received` sent with two arguments, the
    second one no converter decodes (before the arguments patch the SDK dropped such a
    signal unseen; with it, `status.refused` shows it), and (`decodable`) one whose two
    arguments decode (before the patch a workflow task failed on every retry: so
    `v2/before-arguments` was recorded without it), and an `opt_out` of email sent with
    two arguments (taken from the first). It is then paid in full. Writes
    `two_arguments.json`."""
    from rapport.security.links import LinkSigner
    from tests.journey_files import write_journey
    from tests.scenarios import account

    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        journeys = Path(scratch)
        write_journey(journeys, CONTINUED)
        parts = EngineParts(journeys=[journeys], channels={"*": Capture()}, signer=LinkSigner("k"))
        env = await start_time_skipping()
        async with env, build_worker(env.client, "record-two-arguments", parts):
            handle = await env.client.start_workflow(
                "DelinquencyJourney",
                {"account": account(customer__timezone="Etc/GMT"), "journey": "continued"},
                id=workflow_id("R-2"),
                task_queue="record-two-arguments",
            )
            await env.sleep(timedelta(days=1))  # the text went; the wait is under way
            payment = {"amount": "5.00", "payment_id": "p-two"}
            await handle.signal("payment_received", args=[payment, RawValue(UNDECODABLE)])
            if decodable:
                await handle.signal("payment_received", args=[payment, {"extra": 1}])
                # a stop is taken from its first argument, the rest refused (kept: a
                # record_stop local activity)
                await handle.signal("opt_out", args=[{"channel": "email"}, {"extra": 1}])
            await env.sleep(timedelta(hours=1))
            await handle.signal("payment_received", {"amount": "300.00", "payment_id": "p-full"})
            await handle.result()
            history: WorkflowHistory = await handle.fetch_history()
        pinned = PinnedJourney.loaded(load_journey(journeys / "journey.yaml"))
    _write(history, folder / "two_arguments.json")
    save_archive([pinned], folder / "journeys.json", keep=True)


if __name__ == "__main__":
    import sys

    # `... record v2-encrypted` with RAPPORT_ENCRYPTION_KEYS set to v2-encrypted/KEYS
    folder, *only = sys.argv[1:] or [str(CURRENT)]
    if only == ["continued_opt_out"]:
        asyncio.run(record_continued_opt_out(HERE / folder))
    elif only and only[0].startswith("two_arguments"):  # `two_arguments_undecodable`: one
        asyncio.run(record_two_arguments(HERE / folder, only[0] == "two_arguments"))
    else:
        asyncio.run(record(HERE / folder, only or None))
