"""Metrics: what each counter counts, and a scrape of the worker's and the web app's
/metrics after a short run on the dev server, where the counters have moved."""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from temporalio.exceptions import ApplicationError

from activities.delivery import UNDELIVERABLE, WINDOW_CLOSED
from rapport.billing.sources import BillingUnavailable
from rapport.cli.demo import PORTAL_LINK
from rapport.consent.book import ConsentBook
from rapport.contract import metrics
from rapport.contract.activities import SendOutcome
from rapport.contract.metrics import MESSAGES, STOPS, STORE_ERRORS, Counter
from rapport.providers.base import TransientFailure
from rapport.providers.outbox import read_outbox
from rapport.runtime.metrics import RULES, MetricsUnavailable, outcome, serve
from rapport.runtime.servers import free_port, start_dev_server
from rapport.store.database import Store, StoreUnavailable
from tests.journey_files import write_journey
from tests.runtime.test_operations import customer, eventually
from tests.workers import ROOT, Workers, settings_for, worker_env

Counted = list[tuple[str, dict[str, str], int]]


@pytest.fixture
def counted() -> Iterator[Counted]:
    seen: Counted = []

    def sink(counter: Counter, labels: Mapping[str, str], value: int) -> None:
        seen.append((counter.name, dict(labels), value))

    metrics.install(sink)
    yield seen
    metrics.install(None)


def failed(under: BaseException, kind: str = "Transient") -> ApplicationError:
    """An activity's failure as `send_message` raises it: `raise ... from None` over
    what went wrong."""
    try:
        try:
            raise under
        except BaseException:
            raise ApplicationError(str(under), type=kind) from None
    except ApplicationError as error:
        return error


@pytest.mark.parametrize(
    ("result", "error", "expected"),
    [
        (SendOutcome(status="delivered"), None, ("sent", "delivered")),
        (SendOutcome(status="duplicate"), None, ("sent", "duplicate")),
        (SendOutcome(status="paid"), None, ("skipped", "paid")),
        (SendOutcome(status="suppressed"), None, ("skipped", "suppressed")),
        (None, failed(ValueError("late"), WINDOW_CLOSED), ("deferred", "window_closed")),
        (None, failed(ValueError("bug"), UNDELIVERABLE), ("skipped", "undeliverable")),
        (None, failed(StoreUnavailable("down")), ("failed", "store")),
        (None, failed(BillingUnavailable("down")), ("failed", "billing")),
        (None, failed(TransientFailure("429")), ("failed", "provider")),
        (None, failed(ConnectionRefusedError()), ("failed", "network")),
        (None, asyncio.CancelledError(), ("skipped", "cancelled")),
    ],
)
def test_a_send_attempt_is_counted_by_what_became_of_it(
    result: SendOutcome | None, error: BaseException | None, expected: tuple[str, str]
) -> None:
    assert outcome(result, error) == expected


def test_a_counter_takes_exactly_its_labels(counted: Counted) -> None:
    with pytest.raises(ValueError, match=r"takes labels \('channel', 'result', 'reason'\)"):
        metrics.count(MESSAGES, channel="sms")
    metrics.count(MESSAGES, channel="sms", result="sent", reason="delivered")
    RULES["create_handoff"]((), None, failed(TransientFailure("queue down")))
    assert counted == [
        ("rapport_messages_total", {"channel": "sms", "result": "sent", "reason": "delivered"}, 1),
        ("rapport_handoffs_total", {"result": "failed"}, 1),
    ]


def test_store_errors_are_counted_and_a_row_already_there_is_not(
    counted: Counted, tmp_path: Path
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'rapport.db'}")
    store.upgrade()
    counted.clear()
    book = ConsentBook(store)
    assert book.record("opt_out", "sms", "sms_keyword", account_id="A-1", reference="SM1")
    assert not book.record("opt_out", "sms", "sms_keyword", account_id="A-1", reference="SM1")
    book.record("opt_in", "sms", "operator", account_id="A-1")
    with pytest.raises(Exception, match="no such table"), store.begin() as connection:
        connection.execute(text("SELECT * FROM nowhere"))
    assert counted == [
        (STOPS.name, {"source": "sms_keyword", "kind": "opt_out", "channel": "sms"}, 1),
        (STORE_ERRORS.name, {"kind": "OperationalError"}, 1),
    ]


def test_a_metrics_port_in_use_is_refused_with_its_number() -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(MetricsUnavailable, match=f"port {port}"):
            serve(port)


# --- a scrape after a short run ------------------------------------------------------

ONE_EMAIL = """\
id: counted
version: 1
name: One email
entry: {when: "account.days_past_due > 0"}
steps:
  - {id: hello, send: {channel: email, template: reminder}}
  - {id: pause, wait: 1d}
"""


def sample(scraped: str, name: str, **labels: str) -> float:
    """The value of one series in Prometheus' text format (0 when absent)."""
    for line in scraped.splitlines():
        series, _, value = line.rpartition(" ")
        if not series.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', series))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(value)
    return 0.0


def start_web(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """`journey web` as its own process."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "rapport.cli", "web", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=out,
        )


@pytest.mark.slow
async def test_the_worker_and_the_web_app_serve_their_counters(tmp_path: Path) -> None:
    write_journey(tmp_path / "journeys", ONE_EMAIL)
    web_port, worker_metrics, web_metrics = free_port(), free_port(), free_port()
    settings = settings_for(tmp_path).model_copy(
        update={"portal_url": f"http://127.0.0.1:{web_port}"}
    )
    env = worker_env(
        settings,
        RAPPORT_PORTAL_URL=settings.portal_url,
        RAPPORT_METRICS_PORT=str(worker_metrics),
        RAPPORT_WEB_METRICS_PORT=str(web_metrics),
    )
    server = await start_dev_server(settings)
    workers = Workers(env, tmp_path / "processes.log")
    web = None
    try:
        store = Store(settings.store_url())
        store.upgrade()  # M-2 said stop to email before its journey: the send will see it
        ConsentBook(store).record("opt_out", "email", "operator", account_id="M-2")
        workers.start()
        web = start_web(workers.env, web_port, tmp_path / "web.log")
        from rapport.client import Journeys

        journeys = Journeys(server.client, settings)
        for account_id in ("M-1", "M-2"):
            await journeys.start(customer(account_id))

        async def sent() -> dict[str, str]:
            messages = read_outbox(settings.outbox_path)
            assert len(messages) == 1  # M-2's was suppressed by the store's consent record
            return messages[0]

        message = await eventually(sent, within=30)
        async with httpx.AsyncClient(timeout=10) as http:

            async def web_up() -> None:
                try:
                    assert (await http.get(f"{settings.portal_url}/health")).status_code == 200
                except httpx.TransportError as exc:
                    raise AssertionError("not yet") from exc

            await eventually(web_up, within=30)
            link = PORTAL_LINK.search(message["body"])
            assert link is not None
            # a person's browser opening it (HEAD, previewers and plain fetches record nothing)
            opened = await http.get(
                link.group(0), headers={"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
            )
            assert opened.status_code == 200
            clicked = await http.post(
                message["unsubscribe_url"],
                content="List-Unsubscribe=One-Click",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            assert clicked.status_code == 200
            forged = await http.post(
                f"{settings.portal_url}/webhooks/payments",
                content=b"{}",
                headers={"Stripe-Signature": "t=1,v1=forged"},
            )
            assert forged.status_code == 400

            async def moved() -> None:
                worker = (await http.get(f"http://127.0.0.1:{worker_metrics}/metrics")).text
                assert (
                    sample(worker, "rapport_messages_total", channel="email", result="sent") == 1
                ), worker
                assert (
                    sample(
                        worker,
                        "rapport_messages_total",
                        channel="email",
                        result="skipped",
                        reason="suppressed",
                    )
                    == 1
                )
                # Temporal's own: workflow tasks and activities the worker ran
                assert sample(worker, "temporal_workflow_task_execution_latency_count") > 0
                assert sample(worker, "temporal_activity_execution_latency_count") > 0
                page = (await http.get(f"http://127.0.0.1:{web_metrics}/metrics")).text
                assert sample(page, "rapport_portal_actions_total", action="opened") == 1, page
                assert (
                    sample(page, "rapport_stops_total", source="email_one_click", kind="opt_out")
                    == 1
                )
                assert sample(page, "rapport_payments_total", status="refused") == 1

            await eventually(moved, within=20)
    finally:
        if web is not None:
            web.terminate()
            web.wait(timeout=30)
        workers.stop_all()
        await server.shutdown()
