"""A billing system in another language: a small Node script with the Temporal TypeScript
client (`@temporalio/client`, installed here from the npm registry) against the real dev
server, a production worker with encryption keys and the web app's codec:

- started plainly, the journey fails at once saying how to encrypt;
- through the remote codec, its opt-out reaches the journey and the consent record (for
  the account's later journeys too), and its payment ends it paid.

Skipped, loudly, where Node or npm is missing; CI sets RAPPORT_REQUIRE_NODE=1 (.ci/run
installs Debian's nodejs and npm), which turns the skip into a failure."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from rapport.cli.demo import midday_zone
from rapport.consent.book import ConsentBook
from rapport.providers.outbox import Capture
from rapport.runtime.servers import free_port, start_local
from rapport.runtime.settings import Settings
from rapport.runtime.temporal import data_converter
from rapport.runtime.workers import EngineParts, build_worker
from rapport.security.codec import new_key_line
from rapport.store.database import Store
from rapport.web.app import serve_web
from tests.journey_files import write_journey
from tests.scenarios import account

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]
SCRIPT = Path(__file__).parent / "node" / "journey.mjs"
CLIENT = "@temporalio/client@1"
JOURNEY = """\
id: cross
version: 1
name: A text, a week's rest, a last text
steps:
  - {id: first, send: {channel: sms, template: nudge}}
  - {id: rest, wait: 7d}
  - {id: last, send: {channel: sms, template: nudge}}
"""


def node_or_skip() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node and npm:
        return node, npm
    message = (
        "\n!!!!!!!!!! NO NODE: the cross-language test (TypeScript client) is SKIPPED !!!!!!!!!!\n"
        "Install Node 18+ and npm (Debian: apt-get install -y nodejs npm); .ci/run does.\n"
    )
    if os.environ.get("RAPPORT_REQUIRE_NODE") == "1":
        pytest.fail(message + "RAPPORT_REQUIRE_NODE=1: Node is required here.")
    print(message)
    pytest.skip("Node or npm is not installed")


@pytest.fixture(scope="module")
def node_client() -> Any:
    """A folder with @temporalio/client installed from the npm registry, and node."""
    node, npm = node_or_skip()
    folder = Path(tempfile.mkdtemp(prefix="rapport-node-"))
    (folder / "package.json").write_text('{"type": "module", "private": true}')
    done = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", CLIENT],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    shutil.copy(SCRIPT, folder / SCRIPT.name)
    yield node, folder
    shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Production:
    settings: Settings
    store: Store
    address: str
    web: str


@pytest_asyncio.fixture
async def production(tmp_path: Path) -> AsyncIterator[Production]:
    """The dev server, a production worker with keys (plain text refused) and the web app
    (its codec behind a token, as production wants)."""
    write_journey(
        tmp_path, JOURNEY, {"nudge.sms.j2": "Hi {{ customer.first_name }}. {{ opt_out }}\n"}
    )
    port = free_port()
    settings = Settings(
        environment="production",
        encryption_keys=new_key_line("cross"),
        codec_token="codec-token-for-the-test",
        data_dir=tmp_path,
        journeys_dir=tmp_path,
        task_queue=f"cross-{uuid.uuid4()}",
        portal_url=f"http://127.0.0.1:{port}",
    )
    store = Store(settings.store_url())
    store.upgrade(settings.address_sealer())
    server = await start_local(converter=data_converter(settings, worker=True))
    parts = EngineParts(
        journeys=[tmp_path],
        channels={"*": Capture()},
        signer=settings.signer(),
        consent=ConsentBook(store),
        portal_url=settings.portal_url,
    )
    try:
        async with build_worker(server.client, settings.task_queue, parts):
            web = await serve_web(settings, port=port, client=server.client)
            try:
                yield Production(
                    settings, store, server.client.service_client.config.target_host, web.address
                )
            finally:
                await web.stop()
    finally:
        await server.shutdown()
        store.dispose()


async def run_node(node_client: Any, config: dict[str, Any]) -> dict[str, Any]:
    node, folder = node_client
    process = await asyncio.create_subprocess_exec(
        node,
        str(folder / SCRIPT.name),
        json.dumps(config),
        cwd=folder,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()[-3000:]
    answer: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return answer


def customer(account_id: str) -> dict[str, Any]:
    return account(account_id=account_id, balance="120.00", customer__timezone=midday_zone())


async def test_a_plain_start_from_typescript_is_refused_in_production(
    node_client: Any, production: Production
) -> None:
    account_id = f"TS-{uuid.uuid4().hex[:6]}"
    answer = await run_node(
        node_client,
        {
            "address": production.address,
            "taskQueue": production.settings.task_queue,
            "account": customer(account_id),
            "journey": "cross",
            "codec": None,
        },
    )
    message = answer["failed"]  # read by the TypeScript client, without the codec
    assert "arrived in plain text" in message
    assert "/codec/encode" in message
    assert f"temporal workflow delete --workflow-id delinquency-{account_id}" in message


async def test_through_the_remote_codec_the_opt_out_holds_and_the_payment_ends_it(
    node_client: Any, production: Production
) -> None:
    from rapport.client import Journeys
    from rapport.runtime.temporal import connect

    account_id = f"TS-{uuid.uuid4().hex[:6]}"
    answer = await run_node(
        node_client,
        {
            "address": production.address,
            "taskQueue": production.settings.task_queue,
            "account": customer(account_id),
            "journey": "cross",
            "codec": {
                "url": production.web,
                "token": production.settings.codec_token.get_secret_value()
                if production.settings.codec_token
                else "",
            },
        },
    )
    assert answer == {"outcome": "paid", "paid": True}
    settings = production.settings.model_copy(update={"temporal_address": production.address})
    status = await Journeys(await connect(settings), settings).status(account_id)
    assert status.suppressed_channels == ["sms"]  # the opt-out reached the journey
    assert status.payments[0].payment_id == "TS-PAY-1"
    # ... and the consent record (the workflow's record_stop), so the account's next
    # journey keeps it, exactly as one sent through the CLI
    entries = ConsentBook(production.store).entries(account_id)
    assert [(e.action, e.channel) for e in entries] == [("opt_out", "sms")]
