"""Search attributes are stored unencrypted: they hold identifiers and numbers, never a
name, an address or a phone number. A new one fails here until it is looked at."""

from __future__ import annotations

import uuid
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from rapport.client.journeys import starting_attributes
from rapport.contract import search_attributes as sa
from rapport.contract.names import workflow_id
from rapport.language.account import Account
from rapport.providers.outbox import Capture
from rapport.runtime.workers import EngineParts, build_worker
from rapport.security.links import LinkSigner
from tests.journey_files import write_journey
from tests.scenarios import account
from workflows.journey import DelinquencyJourney
from workflows.state import JourneyInput

ONE_TEXT = """\
id: one
version: 1
name: One text
steps:
  - {id: text, send: {channel: sms, template: nudge}}
"""
REVIEWED = {  # each holds no personal data: an id, a step, a number, an outcome
    "AccountId",
    "JourneyId",
    "JourneyVersion",
    "JourneyStep",
    "Segment",
    "DaysPastDue",
    "BalanceDue",
    "Outcome",
}


def test_every_search_attribute_was_reviewed_for_personal_data() -> None:
    assert {key.name for key in sa.ALL} == REVIEWED


async def test_a_journeys_search_attributes_hold_none_of_the_customers_details(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    write_journey(tmp_path, ONE_TEXT)
    queue = f"sa-{uuid.uuid4()}"
    customer = Account.model_validate(account(account_id="P-1"))
    parts = EngineParts(journeys=[tmp_path], channels={"*": Capture()}, signer=LinkSigner("k"))
    async with build_worker(env.client, queue, parts):
        handle = await env.client.start_workflow(
            DelinquencyJourney.run,
            JourneyInput(account=customer, journey="one"),
            id=workflow_id("P-1"),
            task_queue=queue,
            search_attributes=starting_attributes(customer, "one"),
        )
        await handle.result()
        values = [str(pair.value) for pair in (await handle.describe()).typed_search_attributes]
    assert values
    details = [
        customer.customer.first_name,
        customer.customer.email,
        customer.customer.phone,
        "2125550100",
    ]
    assert not [v for v in values for d in details if d and d in v]
