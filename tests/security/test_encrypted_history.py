"""Customer data is encrypted in Temporal's history: the raw history (as `temporal
workflow show` prints it) holds no name, email address or phone number, while the
project's clients, and the web UI through the codec endpoints, still read it. Keys
rotate without losing running journeys."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from rapport.cli.demo import midday_zone
from rapport.client import Journeys
from rapport.contract.journey import JourneyResult
from rapport.contract.names import workflow_id
from rapport.language.account import Account
from rapport.providers.outbox import Capture
from rapport.runtime.servers import binary, free_port, start_local
from rapport.runtime.settings import Settings
from rapport.runtime.temporal import data_converter
from rapport.runtime.workers import EngineParts, build_worker
from rapport.security.codec import PayloadUnreadable, new_key_line
from rapport.security.links import LinkSigner
from rapport.web.app import serve_web
from tests.journey_files import write_journey
from tests.scenarios import NOWHERE, account
from workflows.journey import DelinquencyJourney
from workflows.state import JourneyInput

KEY_A, KEY_B = new_key_line("a"), new_key_line("b")
TEXT_REST_TEXT = """\
id: private
version: 1
name: A text, a day's rest, a text
entry: {when: "account.days_past_due > 0"}
steps:
  - {id: first, send: {channel: sms, template: nudge}}
  - {id: rest, wait: 1d}
  - {id: second, send: {channel: sms, template: nudge}}
"""
ONE_TEXT = TEXT_REST_TEXT.replace("  - {id: rest, wait: 1d}\n", "").replace(
    "  - {id: second, send: {channel: sms, template: nudge}}\n", ""
)
PERSONAL = ("Robin", "robin@example.com", NOWHERE[1:])  # the number it has there


def keyed(keys: str, **changes: object) -> Settings:
    return Settings(encryption_keys=keys, **changes)  # type: ignore[arg-type]


def _decoded_data(node: object) -> list[str]:
    """Every payload's data in a `temporal workflow show -o json` document, decoded."""
    if isinstance(node, dict):
        found = []
        for key, value in node.items():
            if key in ("data", "encoding") and isinstance(value, str):
                found.append(base64.b64decode(value + "===").decode("utf-8", "replace"))
            else:
                found.extend(_decoded_data(value))
        return found
    if isinstance(node, list):
        return [text for item in node for text in _decoded_data(item)]
    return []


def customer() -> Account:
    """Robin, in a zone where it is midday now: the dev server runs in real time."""
    return Account.model_validate(account(customer__timezone=midday_zone()))


def parts(folder: Path) -> EngineParts:
    return EngineParts(journeys=[folder], channels={"*": Capture()}, signer=LinkSigner("k"))


@pytest.mark.slow
async def test_the_raw_history_holds_no_personal_data_and_operators_with_the_key_read_it(
    tmp_path: Path,
) -> None:
    write_journey(tmp_path, ONE_TEXT)
    settings = keyed(
        KEY_A, task_queue=f"enc-{uuid.uuid4()}", portal_url=f"http://127.0.0.1:{free_port()}"
    )
    server = await start_local(converter=data_converter(settings))
    try:
        async with build_worker(server.client, settings.task_queue, parts(tmp_path)):
            journeys = Journeys(server.client, settings)
            await (await journeys.start(customer())).handle.result()
            status = await journeys.status("T-1")  # decrypted for whoever holds the key
        address = server.client.service_client.config.target_host
        raw = subprocess.run(
            [
                binary("temporal"),
                "workflow",
                "show",
                "--address",
                address,
                "-w",
                workflow_id("T-1"),
                "-o",
                "json",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        web = await serve_web(settings)
        try:
            async with httpx.AsyncClient() as http:
                started = json.loads(raw)["events"][0]
                payloads = started["workflowExecutionStartedEventAttributes"]["input"]
                decoded = (
                    await http.post(
                        f"{web.address}/codec/decode",
                        json=payloads,
                        headers={"X-Namespace": "default"},
                    )
                ).json()
                forbidden = await http.post(
                    f"{web.address}/codec/decode",
                    json=payloads,
                    headers={"Origin": "http://evil.example"},
                )
        finally:
            await web.stop()
    finally:
        await server.shutdown()
    assert [m.step for m in status.messages] == ["first"]
    readable = raw + " ".join(_decoded_data(json.loads(raw)))  # what base64 hides, too
    assert "binary/encrypted" in readable
    assert '"first_name"' not in readable
    assert not [p for p in PERSONAL if p in readable]
    text = base64.b64decode(decoded["payloads"][0]["data"]).decode()
    assert "Robin" in text
    assert "robin@example.com" in text
    assert "Access-Control-Allow-Origin" not in forbidden.headers  # not the UI's origin


async def test_the_codec_wants_its_token_when_one_is_set(tmp_path: Path) -> None:
    settings = keyed(KEY_A, codec_token="s3cret", portal_url=f"http://127.0.0.1:{free_port()}")
    web = await serve_web(settings)
    try:
        async with httpx.AsyncClient() as http:
            url = f"{web.address}/codec/encode"
            body = {
                "payloads": [
                    {
                        "metadata": {"encoding": "anNvbi9wbGFpbg=="},
                        "data": base64.b64encode(b'"x"').decode(),
                    }
                ]
            }
            without = await http.post(url, json=body)
            wrong = await http.post(url, json=body, headers={"Authorization": "Bearer no"})
            right = await http.post(url, json=body, headers={"Authorization": "Bearer s3cret"})
            garbage = await http.post(url, content=b"{", headers={"Authorization": "Bearer s3cret"})
    finally:
        await web.stop()
    assert (without.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    assert garbage.status_code == 400
    assert "payloads" in garbage.json()["detail"]
    assert (
        right.json()["payloads"][0]["metadata"]["encryption-key-id"]
        == base64.b64encode(b"a").decode()
    )


def client_with(env: WorkflowEnvironment, keys: str) -> Client:
    converter: DataConverter = data_converter(keyed(keys))
    return Client(
        env.client.service_client, namespace=env.client.namespace, data_converter=converter
    )


async def test_rotation_keeps_running_journeys_and_a_missing_key_is_a_clear_error(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    write_journey(tmp_path, ONE_TEXT)
    queue = f"rotate-{uuid.uuid4()}"
    with_a, with_b_a, with_b = (client_with(env, k) for k in (KEY_A, f"{KEY_B},{KEY_A}", KEY_B))
    who = customer()
    old = await with_a.start_workflow(  # started while key A encrypts; no worker yet
        DelinquencyJourney.run,
        JourneyInput(account=who, journey="private"),
        id=workflow_id("T-1"),
        task_queue=queue,
    )
    async with build_worker(with_b_a, queue, parts(tmp_path)):  # B added in front of A
        finished = await with_b_a.get_workflow_handle(old.id, result_type=JourneyResult).result()
        new = await with_b_a.start_workflow(
            DelinquencyJourney.run,
            JourneyInput(account=who.model_copy(update={"account_id": "T-2"}), journey="private"),
            id=workflow_id("T-2"),
            task_queue=queue,
        )
        await new.result()
    events = (await env.client.get_workflow_handle(new.id).fetch_history()).events
    written_by = {
        p.metadata["encryption-key-id"]
        for e in events
        for p in e.activity_task_scheduled_event_attributes.input.payloads
    }
    assert finished.messages_sent == 1
    assert written_by == {b"b"}
    started = (await env.client.get_workflow_handle(old.id).fetch_history()).events[0]
    under_a = started.workflow_execution_started_event_attributes.input.payloads
    assert await with_b_a.data_converter.decode(under_a)  # read under the rotated ring
    with pytest.raises(PayloadUnreadable, match="key 'a', which this process does not hold"):
        await with_b.data_converter.decode(under_a)  # A removed: unreadable, and it says why


async def test_a_worker_without_the_key_fails_that_journeys_task_and_carries_on(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Key A removed too early: the journey written under it waits (its workflow task
    fails and Temporal retries it) and says why; the worker and other journeys go on."""
    write_journey(tmp_path, ONE_TEXT)
    queue = f"nokey-{uuid.uuid4()}"
    with_a, with_b = client_with(env, KEY_A), client_with(env, KEY_B)
    who = customer()
    stuck = await with_a.start_workflow(
        DelinquencyJourney.run,
        JourneyInput(account=who, journey="private"),
        id=workflow_id("T-1"),
        task_queue=queue,
    )
    async with build_worker(with_b, queue, parts(tmp_path)):
        fine = await with_b.start_workflow(
            DelinquencyJourney.run,
            JourneyInput(account=who.model_copy(update={"account_id": "T-2"}), journey="private"),
            id=workflow_id("T-2"),
            task_queue=queue,
        )
        assert (await fine.result()).messages_sent == 1
        failed = []
        for _ in range(50):
            events = (await env.client.get_workflow_handle(stuck.id).fetch_history()).events
            failed = [e for e in events if e.HasField("workflow_task_failed_event_attributes")]
            if failed:
                break
            await asyncio.sleep(0.1)
    assert failed
    assert (
        await with_a.get_workflow_handle(stuck.id).describe()
    ).status == WorkflowExecutionStatus.RUNNING
    [message] = await with_b.data_converter.decode(  # the failure is written under B
        [failed[0].workflow_task_failed_event_attributes.failure.encoded_attributes]
    )
    assert "key 'a', which this process does not hold" in message["message"]
