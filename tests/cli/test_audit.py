"""`journey audit ACCOUNT_ID [--json]`: every contact the account's journeys made, held
back or skipped, each with the pack and rule that decided it, from the journeys and the
store, as an examiner reads it (the command run against the time-skipping server)."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from rapport.client.audit import audit
from rapport.compliance.table import load_rulebook
from rapport.contract.names import workflow_id
from rapport.language.account import Account
from rapport.policy.window import to_utc
from rapport.providers.outbox import Capture
from rapport.runtime.workers import EngineParts, build_worker
from rapport.security.links import LinkSigner
from rapport.store.database import Store
from rapport.store.deliveries import DeliveryLog
from tests.journey_files import write_journey
from tests.scenarios import account
from workflows.journey import DelinquencyJourney
from workflows.state import JourneyInput

ROOT = Path(__file__).resolve().parents[2]
PACKS = ROOT / "journeys" / "rules"
NY = "America/New_York"

ONE_CALL = """\
id: one-call
version: 1
name: One call
policy:
  contact_window: {start: "09:00", end: "20:00"}
steps:
  - {id: call, send: {channel: voice, template: call}}
"""

DAILY_TEXTS = """\
id: daily-texts
version: 1
name: A text a day
steps:
  - {id: text, send: {channel: sms, template: nudge}}
  - {id: pause, wait: 1d}
  - id: again
    branch:
      - {when: "journey.days_elapsed < 10", goto: text}
"""


async def journey_cli(env: WorkflowEnvironment, db: Path, *args: str) -> tuple[int, str, str]:
    """`journey ...` in a process of its own, reaching the test's Temporal and store (the
    worker of this process answers its queries meanwhile)."""
    target = env.client.service_client.config.target_host
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "rapport.cli",
        *args,
        env={
            **os.environ,
            "TEMPORAL_ADDRESS": target,
            "RAPPORT_DATABASE_URL": f"sqlite:///{db}",
            "RAPPORT_JOURNEYS_DIR": str(ROOT / "journeys"),
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    return proc.returncode or 0, out.decode(), err.decode()


@pytest.mark.slow
async def test_the_audit_names_the_rule_behind_every_contact_from_journeys_and_the_store(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """A Massachusetts customer: last week's journey called once (only the store remembers
    it now that a new journey runs); this one texts daily, held to two in seven days."""
    (tmp_path / "journeys").mkdir()
    folder = tmp_path / "journeys"
    write_journey(folder, ONE_CALL, name="c.yaml")
    write_journey(folder, DAILY_TEXTS, name="t.yaml")
    db = tmp_path / "rapport.db"
    store = Store(f"sqlite:///{db}")
    store.ready()
    parts = EngineParts(
        journeys=[folder],
        channels={"*": Capture()},
        signer=LinkSigner("k"),
        deliveries=DeliveryLog(store),
        rules=load_rulebook(PACKS),
    )
    customer = Account.model_validate(
        account(
            account_id=f"AUD-{uuid.uuid4().hex[:6]}",
            customer__phone="+16175550100",
            customer__address={"country": "US", "region": "US-MA"},
            consent={"sms": True, "email": True, "voice": True},
        )
    )
    queue = f"audit-{uuid.uuid4()}"
    start = to_utc(datetime(2028, 3, 6, 10), NY)
    await env.sleep(start - await env.get_current_time())
    async with build_worker(env.client, queue, parts):
        called = await env.client.start_workflow(
            DelinquencyJourney.run,
            JourneyInput(account=customer, journey="one-call"),
            id=workflow_id(customer.account_id),
            task_queue=queue,
        )
        await called.result()
        texting = await env.client.start_workflow(
            DelinquencyJourney.run,
            JourneyInput(account=customer, journey="daily-texts"),
            id=workflow_id(customer.account_id),
            task_queue=queue,
        )
        await env.sleep(timedelta(days=9))
        found = await audit(
            env.client, customer.account_id, DeliveryLog(store), load_rulebook(PACKS)
        )
        code, out, err = await journey_cli(env, db, "audit", customer.account_id)
        code_json, out_json, _ = await journey_cli(env, db, "audit", customer.account_id, "--json")
        await texting.terminate("the test has seen enough")

    sent = [c for c in found.contacts if c.kind == "sent"]
    held = [c for c in found.contacts if c.kind == "deferred"]
    assert [(c.channel, c.source, c.journey) for c in sent[:1]] == [
        ("voice", "store", "one-call v1")
    ]
    texts = [c for c in sent if c.channel == "sms"]
    assert len(texts) >= 2
    assert {(c.source, c.packs) for c in texts} == {("journey", ("us-federal", "us-ma"))}
    assert held
    assert {c.decided_by for c in held} == {"us-ma/phone-cap"}
    assert "940 CMR 7.04" in held[0].citation
    assert held[0].until is not None
    assert held[0].until > held[0].at
    assert [c.at for c in found.contacts] == sorted(c.at for c in found.contacts)

    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"audit of account {customer.account_id}: {len(sent)} sent, ")
    assert any("voice" in line and "from the store's delivery log" in line for line in lines)
    assert any("sms" in line and "under us-federal, us-ma" in line for line in lines)
    assert any(
        "held until" in line and "by us-ma/phone-cap (940 CMR 7.04" in line for line in lines
    )

    assert code_json == 0, out_json
    document: dict[str, Any] = json.loads(out_json)
    assert document["account_id"] == customer.account_id
    kinds = [c["kind"] for c in document["contacts"]]
    assert (kinds.count("sent"), kinds.count("deferred")) == (len(sent), len(held))
    assert {c["decided_by"] for c in document["contacts"] if c["kind"] == "deferred"} == {
        "us-ma/phone-cap"
    }


@pytest.mark.slow
async def test_an_account_without_journeys_or_deliveries_says_so(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    db = tmp_path / "rapport.db"
    Store(f"sqlite:///{db}").ready()
    code, out, err = await journey_cli(env, db, "audit", "NOBODY")
    assert (code, out.strip(), err) == (0, "no journeys and no deliveries for account NOBODY", "")
