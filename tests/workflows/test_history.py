"""What a journey writes to Temporal's history, which Temporal stores and bills: the
definition and templates are never in it, a send carries only the account fields its
template reads, one activity per message, one local activity at the start."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from google.protobuf.json_format import MessageToDict
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from rapport.simulation.runner import simulate_on
from rapport.simulation.scenario import load_scenario
from tests.journey_files import write_journey
from tests.scenarios import account

E = EventType
JOURNEY = """\
id: lean
version: 1
name: Three texts a day apart
steps:
  - {id: first, send: {channel: sms, template: note}}
  - {id: rest1, wait: 1d}
  - {id: second, send: {channel: sms, template: note}}
  - {id: rest2, wait: 1d}
  - {id: third, send: {channel: sms, template: note}}
"""
TEMPLATE = "Kindly settle, {{ customer.first_name }}: {{ balance }} {{ opt_out }}"


async def test_a_journey_history_holds_the_journey_by_hash_and_only_what_sends_need(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    journey = write_journey(tmp_path, JOURNEY, {"note.sms.j2": TEMPLATE})
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(
        yaml.safe_dump(
            {
                "journey": journey.name,
                "start": "2028-03-01T10:00",
                "days": 4,
                "account": account(customer__last_name="Quill"),
                "events": [],
            }
        )
    )
    run = await simulate_on(env, load_scenario(scenario))
    events = run.history.events
    assert [m.step for m in run.status.messages] == ["first", "second", "third"]

    scheduled = [
        e.activity_task_scheduled_event_attributes
        for e in events
        if e.event_type == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert [a.activity_type.name for a in scheduled] == ["send_message"] * 3  # check folded in
    markers = [
        e
        for e in events
        if e.event_type == E.EVENT_TYPE_MARKER_RECORDED
        and e.marker_recorded_event_attributes.marker_name != "core_patch"  # workflow.patched
    ]
    # prepare_journey (the pin and the zone rules) and account_rules (the rule packs, the
    # possible zones, holidays), once each
    assert len(markers) == 2
    assert "+12125550100" not in json.dumps([MessageToDict(m) for m in markers])  # no phone

    whole = run.history.to_json()
    assert "Kindly settle" not in whole
    assert "Three texts a day apart" not in whole
    for attributes in scheduled:
        request = json.loads(attributes.input.payloads[0].data)
        assert request["journey"]["id"] == "lean"
        assert len(request["journey"]["hash"]) == 20
        assert request["fields"]["customer"] == {"first_name": "Robin", "locale": "en-US"}
        for unread in ("Quill", "robin@example.com", "tenure_months", "consent"):
            assert unread not in json.dumps(request)

    upserts = [
        e
        for e in events
        if e.event_type == E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
        and set(
            e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
        )
        != {"TemporalChangeVersion"}  # the SDK's own, once for workflow.patched
    ]
    assert len(upserts) <= 3  # one per day-long rest (the step changed) and one at the end
    # A patch costs its marker (and the SDK's TemporalChangeVersion) once per run, not per
    # message: counted apart.
    patches = [
        e
        for e in events
        if e.marker_recorded_event_attributes.marker_name == "core_patch"
        or set(
            e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
        )
        == {"TemporalChangeVersion"}
    ]
    # intake, arguments, migrations, plans, rules (each a marker; the attribute a few times)
    assert len(patches) <= 12
    # Temporal's own events per message, and rests; once a run, the rule packs' marker
    assert (len(events) - len(patches) - 1) / 3 <= 14
