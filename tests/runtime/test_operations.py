"""Running for real, on the embedded dev server: billing systems start and steer journeys,
operators find them, and journeys survive restarts of everything."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path

import pytest
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.testing import WorkflowEnvironment

from rapport.cli.demo import midday_zone
from rapport.client import JourneyError, Journeys
from rapport.contract.journey import JourneyResult
from rapport.language.account import Account
from rapport.providers.outbox import read_outbox
from rapport.runtime.servers import start_dev_server
from rapport.runtime.settings import Settings
from rapport.runtime.versions import deployment_config, deployment_version
from rapport.runtime.workers import build_worker, parts_from_settings
from tests.fakes import Hold, WebhookReceiver, serving
from tests.journey_files import write_journey
from tests.scenarios import account
from tests.workers import Workers, settings_for, webhook_env, worker_env

OPERATED = """\
id: operated
version: 1
name: Offer first, then remind
entry: {when: "account.days_past_due > 0"}
segments:
  - {id: hardship, when: "account.history.hardship"}
on_paid:
  send: {channel: email, template: thanks}
steps:
  - id: plan
    offer_plan: {channel: email, template: offer, installments: [2, 3], respond_within: 3d}
  - {id: nudge, send: {channel: sms, template: nudge}}
  - {id: pause, wait: 5d}
"""


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[tuple[WorkflowEnvironment, Journeys]]:
    """The dev server (database under data/) and a worker, as `python worker.py --dev` runs."""
    server = await start_dev_server(settings)
    try:
        async with build_worker(server.client, settings.task_queue, parts_from_settings(settings)):
            yield server, Journeys(server.client, settings)
    finally:
        await server.shutdown()


def customer(account_id: str, **changes: object) -> Account:
    return Account.model_validate(
        account(account_id=account_id, customer__timezone=midday_zone(), **changes)
    )


async def eventually(check, within: float = 30.0):  # type: ignore[no-untyped-def]
    """Visibility and workflow progress are asynchronous: poll briefly."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        try:
            return await check()
        except AssertionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.1)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    write_journey(tmp_path / "journeys", OPERATED)
    return settings_for(tmp_path)


@pytest.mark.slow
async def test_start_is_idempotent_and_a_returning_account_starts_anew(settings: Settings) -> None:
    async with running(settings) as (_, journeys):
        first = (await journeys.start(customer("I-1"))).handle
        again = await journeys.start(customer("I-1"))
        assert again.handle.result_run_id == first.result_run_id
        assert (again.already_running, again.differs) == (True, False)
        other = await journeys.start(customer("I-1", balance="250.00"))
        assert other.differs  # said, not silently kept: send account_updated instead
        await journeys.signal("I-1", "cease_communication", {})
        assert (await first.result()).outcome == "ceased"
        kept = await journeys.pay("I-1", Decimal("5"))  # no journey runs: kept, unapplied
        assert (kept.applied, kept.unapplied, kept.journey) == (False, Decimal("5.00"), None)
        back = (await journeys.start(customer("I-1"))).handle
        assert back.result_run_id != first.result_run_id


@pytest.mark.slow
async def test_signals_and_the_update_through_the_client(settings: Settings) -> None:
    async with running(settings) as (_, journeys):
        handle = (await journeys.start(customer("S-1"))).handle

        async def offered() -> None:
            assert (await journeys.status("S-1")).plan_offered == [2, 3]

        await eventually(offered)
        with pytest.raises(JourneyError, match="4 installments were not offered"):
            await journeys.accept_plan("S-1", 4)
        await journeys.pay("S-1", Decimal("100.00"))
        await journeys.signal("S-1", "opt_out", {"channel": "sms"})
        await journeys.signal("S-1", "hardship_reported", {})
        await journeys.signal("S-1", "engagement", {"kind": "opened"})
        await journeys.signal("S-1", "pause", {})
        await journeys.signal("S-1", "resume", {})
        await journeys.signal("S-1", "dispute", {"reason": "charged twice"})
        await journeys.signal("S-1", "dispute_resolved", {})
        with pytest.raises(JourneyError, match="channel"):
            await journeys.signal("S-1", "opt_out", {"channel": "fax"})
        with pytest.raises(JourneyError, match="unknown event"):
            await journeys.signal("S-1", "teleport", {})

        async def changed() -> None:
            status = await journeys.status("S-1")
            assert (status.balance, status.segment) == (Decimal("200.00"), "hardship")
            assert status.suppressed_channels == ["sms"]

        await eventually(changed)
        # the payment came after the offer: the amounts offered no longer stand
        with pytest.raises(JourneyError, match="the balance changed since the offer"):
            await journeys.accept_plan("S-1", 2)
        taken = journeys.ledger().for_account("S-1")  # the ledger first, then the journey
        assert [(p.amount, p.status, p.applied) for p in taken] == [
            (Decimal("100.00"), "succeeded", True)
        ]
        second = (await journeys.start(customer("S-2"))).handle

        async def offered_again() -> None:
            assert (await journeys.status("S-2")).plan_offered == [2, 3]

        await eventually(offered_again)
        plan = await journeys.accept_plan("S-2", 2)
        assert (plan.installments, plan.amount) == (2, Decimal("150.00"))  # as offered
        result = await second.result()
        assert (result.outcome, result.plan.installments if result.plan else None) == (
            "plan_accepted",
            2,
        )
        await journeys.signal("S-1", "cease_communication", {})
        assert (await handle.result()).outcome == "ceased"
        with pytest.raises(JourneyError, match="no journey for account NOPE"):
            await journeys.status("NOPE")


@pytest.mark.slow  # waits in real time for the dev server's visibility to list the journeys
async def test_operators_find_journeys_by_search_attributes(settings: Settings) -> None:
    async with running(settings) as (server, journeys):
        await journeys.start(customer("L-1"))
        await journeys.start(customer("L-2", balance="900.00", history={"hardship": True}))

        def journey_list(*filters: str) -> str:
            env = {**os.environ, "TEMPORAL_ADDRESS": settings.temporal_address}
            return subprocess.run(
                [sys.executable, "-m", "rapport.cli", "list", *filters],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout

        async def listed() -> None:
            out = journey_list("--step", "plan", "--balance-over", "500")
            assert "L-2" in out
            assert "L-1" not in out
            assert "hardship" in out
            assert "L-1" in journey_list("--segment", "default")

        await eventually(listed)
        handle = server.client.get_workflow_handle("delinquency-L-2")
        metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
        assert "**Step** plan" in metadata.current_details
        assert "**Balance** 900.00 USD" in metadata.current_details
        description = await handle.describe()
        assert "for account L-2: 900.00 USD" in str(await description.static_summary())


@pytest.mark.slow  # stops and restarts the dev server and the worker
async def test_everything_restarts_and_the_journey_carries_on(settings: Settings) -> None:
    async with running(settings) as (_, journeys):
        await journeys.start(customer("R-1", consent={"email": True}))

        async def reminded() -> None:
            assert len((await journeys.status("R-1")).messages) == 1

        await eventually(reminded)
    # server and worker are gone; start both again on the same database
    async with running(settings) as (_, journeys):
        status = await journeys.status("R-1")
        assert (status.step, status.state) == ("plan", "waiting")
        await journeys.pay("R-1", Decimal("300.00"))
        handle = journeys.client.get_workflow_handle("delinquency-R-1", result_type=JourneyResult)
        assert (await handle.result()).outcome == "paid"
    sent = [(e["account_id"], e["step"]) for e in read_outbox(settings.outbox_path)]
    assert sent == [("R-1", "plan"), ("R-1", "on_paid")]  # nothing repeated


@pytest.mark.slow  # `python worker.py` in its own process, SIGTERMed mid-delivery
async def test_sigterm_during_a_delivery_loses_nothing(settings: Settings) -> None:
    receiver = WebhookReceiver(secret="hook", hold=Hold(1))
    server = await start_dev_server(settings)
    try:
        async with serving(receiver.app()) as base:
            workers = Workers(
                worker_env(settings, **webhook_env(base, "hook", "email")),
                settings.data_dir / "worker.log",
            )
            worker = workers.start()
            journeys = Journeys(server.client, settings)
            handle = (await journeys.start(customer("T-9"))).handle
            await asyncio.wait_for(receiver.hold.holding.wait(), timeout=30)
            worker.send_signal(signal.SIGTERM)  # mid-delivery
            await asyncio.sleep(0.3)
            receiver.hold.released.set()  # the provider answers; the worker finishes
            code = await asyncio.to_thread(worker.wait, 30)
            assert code == 0, workers.log.read_text()
            async with build_worker(  # the same version: the journey is pinned to it
                server.client,
                settings.task_queue,
                parts_from_settings(settings),
                deployment_config=deployment_config(deployment_version(settings)),
            ):
                await journeys.signal("T-9", "cease_communication", {})
                await handle.result()
                status = await journeys.status("T-9")
    finally:
        await server.shutdown()
    assert [m.step for m in status.messages] == ["plan"]
    assert len(receiver.received) == 1  # delivered once, never retried, nothing lost


@pytest.mark.slow
async def test_pay_with_an_id_twice_and_update_from_the_command_line(settings: Settings) -> None:
    def journey(*args: str) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "TEMPORAL_ADDRESS": settings.temporal_address,
            "JOURNEY_TASK_QUEUE": settings.task_queue,
            "RAPPORT_DATA_DIR": str(settings.data_dir),
        }
        return subprocess.run(
            [sys.executable, "-m", "rapport.cli", *args],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    async with running(settings) as (_, journeys):
        handle = (await journeys.start(customer("C-1"))).handle
        first = await asyncio.to_thread(journey, "pay", "C-1", "40.00", "--payment-id", "B-1")
        again = await asyncio.to_thread(journey, "pay", "C-1", "40.00", "--payment-id", "B-1")
        cents = await asyncio.to_thread(journey, "pay", "C-1", "40.001")
        huge = await asyncio.to_thread(journey, "pay", "C-1", "1e999999999")
        assert first.returncode == again.returncode == 0, first.stderr
        assert "payment B-1 of 40.00 USD taken by the journey of C-1" in first.stdout
        assert "payment B-1 of 40.00 USD taken by the journey of C-1" in again.stdout
        assert cents.returncode == huge.returncode == 1
        assert "more decimal places than USD" in cents.stderr
        assert "is not an amount" in huge.stderr
        assert "Traceback" not in huge.stderr

        async def once() -> None:
            status = await journeys.status("C-1")
            assert status.balance == Decimal("260.00")
            assert [p.payment_id for p in status.payments] == ["B-1"]  # told once

        await eventually(once)
        listed = await asyncio.to_thread(journey, "payments", "C-1", "--json")
        rows = json.loads(listed.stdout)["payments"]
        assert [(r["payment_id"], r["amount"], r["source"], r["applied"]) for r in rows] == [
            ("B-1", "40.00", "cli", True)
        ]
        bad = await asyncio.to_thread(journey, "update", "C-1", "customer.timezone=Mars/Olympus")
        assert bad.returncode == 1
        assert "Mars/Olympus" in bad.stderr
        done = await asyncio.to_thread(
            journey, "update", "C-1", "balance=0.00", "consent.sms=false"
        )
        assert done.returncode == 0, done.stderr
        assert (await handle.result()).outcome == "paid"
