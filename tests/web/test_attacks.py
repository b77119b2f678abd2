"""Issue 22's findings, each replayed against the real web app on loopback (uvicorn on a
free port, the rig's Temporal dev server and worker behind it): what an attacker tried,
and what the app now answers."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode

import httpx
import pytest
import pytest_asyncio
from hypothesis import given, settings
from hypothesis import strategies as st
from playwright.async_api import Browser, expect
from pydantic import SecretStr
from sqlalchemy import select, update
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route

from rapport.contract.names import workflow_id
from rapport.payments.events import signature_header
from rapport.providers.smtp import to_html
from rapport.providers.twilio import twilio_signature
from rapport.runtime.servers import free_port
from rapport.runtime.settings import Settings
from rapport.security.codec import new_key_line
from rapport.security.links import identity_check
from rapport.store.checkouts import checkouts
from rapport.store.limits import rate_counts
from rapport.store.links import Link, LinkBook, links, token_hash
from rapport.web.app import create_app, serve_asgi, serve_web
from tests.web.browser import PHONE, browser, shot
from tests.web.portal_rig import Rig, portal_rig

__all__ = ["browser"]  # the fixture
pytestmark = pytest.mark.timeout(180)
TWILIO = "twilio-test-auth-token"
BROWSER = {"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}
PREVIEWER = {"User-Agent": "facebookexternalhit/1.1"}  # what a messaging app's preview sends
MIB = 1024 * 1024


@pytest_asyncio.fixture(scope="module")
async def rig(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    async with portal_rig(
        tmp_path_factory.mktemp("attacks"),
        twilio_auth_token=SecretStr(TWILIO),
        portal_requests_per_address=1_000_000,  # each test below sends many from loopback
        portal_requests_per_token=1_000_000,
        encryption_keys=SecretStr(new_key_line("attacks")),  # the codec serves; links sealed
    ) as rigged:
        yield rigged


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(follow_redirects=False, timeout=30) as client:
        yield client


def csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert found, page.text
    return found.group(1)


def web_env(rig: Rig, **extra: str) -> dict[str, str]:
    """`journey web` in another process, on the rig's store, secrets and Temporal."""
    env = {k: v for k, v in os.environ.items() if k != "TEMPORAL_ADDRESS"}
    return {
        **env,
        "RAPPORT_ENVIRONMENT": "development",
        "RAPPORT_DATA_DIR": str(rig.settings.data_dir),
        "RAPPORT_PORTAL_URL": rig.settings.portal_url,
        "RAPPORT_TEMPORAL_ADDRESS": rig.temporal_address,
        "RAPPORT_TWILIO_AUTH_TOKEN": TWILIO,
        "RAPPORT_ENCRYPTION_KEYS": rig.settings.secret("encryption_keys") or "",
        **extra,
    }


@contextmanager
def web_process(env: dict[str, str], log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A second web process; (its base URL, the process), stopped on leaving."""
    port = free_port()
    journey = Path(sys.executable).with_name("journey")
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(journey), "web", "--port", str(port)], env=env, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}", process
    finally:
        process.terminate()
        process.wait(timeout=10)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


# --- the identity check: tries taken before the answer is compared, in the store --------


@pytest.mark.slow
async def test_forty_concurrent_wrong_answers_on_two_processes_then_the_right_one_get_no_session(
    rig: Rig, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    _, link = await rig.customer()
    path = link.removeprefix(rig.web)
    token = path.removeprefix("/r/")
    with web_process(web_env(rig), tmp_path / "web2.log") as (other, _):
        form = {"csrf": csrf(await http.get(link)), "answer": "9999"}
        guesses = await asyncio.gather(
            *(http.post(f"{base}{path}/check", data=form) for base in (rig.web, other) * 20)
        )
        rights = [
            await http.post(f"{base}{path}/check", data={**form, "answer": "0100"})
            for base in (rig.web, other)
        ]
        log = (tmp_path / "web2.log").read_text()
    statuses = sorted(g.status_code for g in guesses)
    assert statuses == [403] * 36 + [422] * 4  # five compared, 35 refused uncompared
    for right in rights:
        assert right.status_code == 403
        assert "Too many tries" in right.text
        assert "rp_" not in right.headers.get("set-cookie", "")
    with rig.store.begin() as connection:
        tried = connection.execute(
            select(links.c.failed_checks).where(links.c.token_hash == token_hash(token))
        ).scalar_one()
    assert tried == 5
    assert "Traceback" not in log


async def test_a_right_answer_gives_its_try_back(rig: Rig, http: httpx.AsyncClient) -> None:
    _, link = await rig.customer()
    form = {"csrf": csrf(await http.get(link)), "answer": "9999"}
    wrong = [await http.post(f"{link}/check", data=form) for _ in range(4)]
    right = await http.post(f"{link}/check", data={**form, "answer": "0100"})
    async with httpx.AsyncClient() as someone_else:  # another device, no session
        again = await someone_else.post(f"{link}/check", data={**form, "answer": "0100"})
    assert [w.status_code for w in wrong] == [422] * 4
    assert (right.status_code, again.status_code) == (303, 303)


# --- HEAD and previewers change nothing; one-click unsubscribe only on POST ------------


@pytest.mark.slow
async def test_head_and_link_previewers_change_nothing_and_a_browser_records_one_click(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    account_id, link = await rig.customer()
    token = link.rsplit("/", 1)[1]
    heads = [await http.head(link) for _ in range(3)]
    previews = [await http.get(link, headers=PREVIEWER) for _ in range(3)]
    await asyncio.sleep(1.0)  # what a click would record is recorded in the background
    before = (await _opened(rig, token), await _clicks(rig, account_id))
    await http.get(link, headers=BROWSER)

    async def clicked() -> bool:
        return await _clicks(rig, account_id) > 0

    await rig.eventually(clicked)
    assert [h.status_code for h in heads] == [200] * 3
    assert [p.status_code for p in previews] == [200] * 3
    assert before == (False, 0)
    assert await _opened(rig, token)
    assert await _clicks(rig, account_id) == 1


async def test_head_and_get_on_an_unsubscribe_link_unsubscribe_no_one(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    account_id, _ = await rig.customer()
    token = "U" + account_id.replace("-", "")[:15].ljust(15, "x")
    LinkBook(rig.store).keep(
        token,
        Link(
            account_id=account_id,
            journey_id="portal",
            purpose="unsubscribe",
            channel="email",
            address=None,
            expires_at=datetime.now(UTC) + timedelta(days=1),
        ),
        datetime.now(UTC),
    )
    url = f"{rig.web}/u/{token}"
    head = await http.head(url)
    page = await http.get(url, headers=PREVIEWER)
    spanish = await http.get(f"{url}?lang=es")  # no address kept: said in Spanish too
    untouched = rig.consent.refusal(account_id, "email", None)
    clicked = await http.post(url, content=b"List-Unsubscribe=One-Click")
    assert (head.status_code, page.status_code) == (200, 200)
    assert "Dejaremos de escribir a esta dirección" in spanish.text
    assert untouched is None
    assert clicked.status_code == 200
    assert rig.consent.refusal(account_id, "email", None) is not None


async def _opened(rig: Rig, token: str) -> bool:
    with rig.store.begin() as connection:
        opened = connection.execute(
            select(links.c.opened_at).where(links.c.token_hash == token_hash(token))
        ).scalar_one()
    return opened is not None


async def _clicks(rig: Rig, account_id: str) -> int:
    history = await rig.client.get_workflow_handle(workflow_id(account_id)).fetch_history()
    return sum(
        1
        for e in history.events
        if e.workflow_execution_signaled_event_attributes.signal_name == "engagement"
    )


# --- secrets that are not ASCII: a 4xx, never a 500 -----------------------------------


async def test_text_that_is_not_ascii_in_a_secret_is_refused_not_a_crash(
    rig: Rig, http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    _, link = await rig.customer()
    session = f"rp_{token_hash(link.rsplit('/', 1)[1])[:12]}"
    accented = "é".encode()  # as a client sends it: UTF-8 bytes in a header
    check = await http.post(f"{link}/check", data={"csrf": "é" * 32, "answer": "0100"})
    cookie = await http.get(link, headers={b"Cookie": f"{session}=1²².é".encode()})
    digits = await http.get(link, headers={"Cookie": f"{session}={'9' * 5000}.ab"})
    stripe = await http.post(
        f"{rig.web}/webhooks/payments",
        content=b'{"id": "evt_1"}',
        headers={b"Stripe-Signature": b"t=1,v1=" + accented * 32},
    )
    twilio = await http.post(
        f"{rig.web}/sms/inbound",
        data={"From": "+12125550100", "Body": "STOP"},
        headers={b"X-Twilio-Signature": accented * 14},
    )
    dev_key = await http.post(
        f"{rig.web}/dev-provider/v1/checkout/sessions",
        data={"mode": "payment"},
        headers={b"Authorization": b"Basic " + accented},
    )
    amount = await http.post(
        f"{rig.web}/dev-provider/v1/checkout/sessions",
        data={"mode": "payment", "line_items[0][price_data][unit_amount]": "²"},
        auth=("sk_dev", ""),
    )
    assert check.status_code == 403
    assert "This page was open for a long time" in check.text
    assert (cookie.status_code, digits.status_code) == (200, 200)  # no session, no crash
    assert "Continue" in cookie.text + digits.text
    assert (stripe.status_code, stripe.json()["field"]) == (400, "Stripe-Signature")
    assert stripe.headers["content-type"] == "application/problem+json"
    assert twilio.status_code == 403
    assert dev_key.status_code == 401
    assert amount.status_code == 400
    assert not [r for r in caplog.records if r.exc_info]


# --- bodies too large are refused before they are read -------------------------------


def _refused_while_sending(port: int, head: bytes, body: Iterator[bytes]) -> tuple[int, float]:
    """Send `head`, then `body` piece by piece from another thread, while reading the
    answer here: (status, seconds from the first byte to the status line)."""
    connection = socket.create_connection(("127.0.0.1", port))
    started = time.perf_counter()

    def send() -> None:
        try:
            connection.sendall(head)
            for piece in body:
                connection.sendall(piece)
        except OSError:
            pass  # the server closed the connection: what we hope for

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    answer = b""
    while b"\r\n" not in answer:
        chunk = connection.recv(4096)
        assert chunk, "the server closed without answering"
        answer += chunk
    took = time.perf_counter() - started
    connection.close()
    sender.join(timeout=10)
    return int(answer.split(b" ", 2)[1]), took


async def test_a_64_mib_body_is_refused_before_it_is_read(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    port = int(rig.web.rsplit(":", 1)[1])
    piece = b"x" * (64 * 1024)
    declared = (
        b"POST /sms/inbound HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: %d\r\n\r\n" % (64 * MIB)
    )
    chunked = (
        b"POST /webhooks/payments HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    hex_piece = b"%x\r\n" % len(piece) + piece + b"\r\n"
    by_length = await asyncio.to_thread(
        _refused_while_sending, port, declared, iter([piece] * 1024)
    )
    by_counting = await asyncio.to_thread(
        _refused_while_sending, port, chunked, iter([hex_piece] * 1024)
    )
    _, link = await rig.customer()
    form = await http.post(f"{link}/check", data={"answer": "0" * 17 * 1024})
    webhook = await http.post(f"{rig.web}/webhooks/payments", content=b"{" + b" " * 65 * 1024)
    print(
        f"64 MiB refused in {by_length[1]:.3f} s (Content-Length), {by_counting[1]:.3f} s (chunked)"
    )
    assert by_length[0] == by_counting[0] == 413
    assert by_length[1] < 0.5  # it was 6.2 s: the whole body read, then parsed
    assert by_counting[1] < 0.5
    assert form.status_code == 413
    assert "<h1>" in form.text  # the portal's page for a form
    assert webhook.status_code == 413
    assert webhook.headers["content-type"] == "application/problem+json"


# --- Host: only ours -----------------------------------------------------------------


async def test_a_foreign_host_is_refused_before_anything_is_served(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    _, link = await rig.customer()
    evil = {"Host": "rebind.evil.example"}
    codec = await http.post(f"{rig.web}/codec/decode", json={"payloads": []}, headers=evil)
    page = await http.get(link, headers=evil)
    ours = await http.get(link, headers={"Host": "localhost"})
    assert (codec.status_code, page.status_code) == (400, 400)
    assert "300.00" not in page.text
    assert ours.status_code == 200


# --- unknown routes and wrong methods: a proper 404 and 405 -------------------------


async def test_unknown_paths_and_wrong_methods_get_a_problem_or_the_portals_page(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    _, link = await rig.customer()
    api_missing = await http.get(f"{rig.web}/webhooks/nothing")
    api_method = await http.get(f"{rig.web}/webhooks/payments")
    page_missing = await http.get(f"{rig.web}/nothing?lang=es")
    page_method = await http.put(link)
    static_method = await http.post(f"{rig.web}/static/portal.css")
    for answer, status in ((api_missing, 404), (api_method, 405)):
        assert answer.status_code == status
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["status"] == status
    assert api_method.headers["allow"] == "POST"
    assert "takes POST" in api_method.json()["detail"]
    for answer, status in ((page_missing, 404), (page_method, 405), (static_method, 405)):
        assert answer.status_code == status
        assert answer.headers["content-type"].startswith("text/html")
        assert "<h1>" in answer.text
        assert "Not Found" not in answer.text
    assert "Este enlace no funciona" in page_missing.text


# --- one place for security headers; https: HSTS and Secure cookies --------------------


async def test_every_response_carries_the_security_headers(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    _, link = await rig.customer()
    answers = [
        await http.get(link),
        await http.get(f"{rig.web}/static/portal.css"),
        await http.get(f"{rig.web}/nothing"),
        await http.post(f"{rig.web}/webhooks/payments", content=b"{}"),
        await http.get(f"{rig.web}/health"),
        await http.get(link, headers={"Host": "evil.example"}),
        await http.post(f"{link}/check", content=b"x" * 20_000),
    ]
    assert [a.status_code for a in answers] == [200, 200, 404, 400, 200, 400, 413]
    for answer in answers:
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["Cross-Origin-Opener-Policy"] == "same-origin"
        assert "server" not in answer.headers
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
        assert "Strict-Transport-Security" not in answer.headers  # the public URL is http


async def test_behind_a_tls_proxy_cookies_are_secure_and_hsts_is_sent(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    """The public URL is https (a TLS proxy in front); the proxy talks plain HTTP to the
    app, as most do. Every cookie is Secure and HSTS is on, whether or not the proxy
    says X-Forwarded-Proto."""
    _, link = await rig.customer()
    path = link.removeprefix(rig.web)
    settings = replace_settings(rig)
    port = int(settings.portal_url.rsplit(":", 1)[1])
    settings = settings.model_copy(update={"portal_url": "https://pay.example.test"})
    web = await serve_web(settings, port=port, client=rig.client)
    base, host = f"http://127.0.0.1:{port}", {"Host": "pay.example.test"}
    try:
        landing = await http.get(f"{base}{path}?lang=es", headers=host)
        passed = await http.post(
            f"{base}{path}/check", data={"csrf": csrf(landing), "answer": "0100"}, headers=host
        )
        proxied = await http.get(f"{base}{path}", headers={**host, "X-Forwarded-Proto": "https"})
    finally:
        await web.stop()
    assert (landing.status_code, passed.status_code) == (200, 303)
    cookies = landing.headers.get_list("set-cookie") + passed.headers.get_list("set-cookie")
    assert len(cookies) == 2  # the language, the session
    assert all("Secure" in cookie for cookie in cookies)
    assert all("HttpOnly" in cookie for cookie in cookies)
    for answer in (landing, passed, proxied):
        assert answer.headers["Strict-Transport-Security"] == "max-age=31536000"


async def test_in_production_the_codec_serves_only_with_its_token(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    body = {"payloads": [{"metadata": {"encoding": "YmluYXJ5L3BsYWlu"}, "data": "e30="}]}
    answers = {}
    for name, token in (("production", None), ("production with a token", "op-token")):
        settings = replace_settings(
            rig, environment="production", codec_token=SecretStr(token) if token else None
        )
        port = int(settings.portal_url.rsplit(":", 1)[1])
        web = await serve_web(settings, port=port, client=rig.client)
        try:
            url = f"{web.address}/codec/decode"
            answers[name] = await http.post(url, json=body)
            bearer = {"Authorization": f"Bearer {token}"}
            answers[f"{name}, bearer"] = await http.post(url, json=body, headers=bearer)
        finally:
            await web.stop()
    development = await http.post(f"{rig.web}/codec/decode", json=body)  # the rig's
    assert answers["production"].status_code == 403  # from loopback too
    assert "RAPPORT_CODEC_TOKEN" in answers["production"].json()["detail"]
    assert answers["production with a token"].status_code == 401
    assert answers["production with a token, bearer"].status_code == 200
    assert development.status_code == 200  # loopback, development: served


# --- made-up tokens: no keys, bounded memory -------------------------------------------


async def _made_up(
    base: str, count: int, clients: int = 8, source: str = "127.0.0.1"
) -> dict[int, int]:
    """GET `count` made-up (well-formed) tokens over `clients` keep-alive connections
    from the loopback address `source`; how many of each status came back. Raw
    HTTP/1.1: httpx's pool would be the bottleneck, not the server."""
    host, port = base.removeprefix("http://").split(":")
    numbers = iter(range(count))
    statuses: dict[int, int] = {}

    async def client() -> None:
        reader, writer = await asyncio.open_connection(host, int(port), local_addr=(source, 0))
        for n in numbers:
            writer.write(f"GET /r/madeup{n:010d} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?i)content-length: *(\d+)", head)
            await reader.readexactly(int(length.group(1)) if length else 0)
            status = int(head.split(b" ", 2)[1])
            statuses[status] = statuses.get(status, 0) + 1
        writer.close()

    await asyncio.gather(*(client() for _ in range(clients)))
    return statuses


def _keys(rig: Rig) -> set[str]:
    """The rate limits' keys in the store now (those of other tests expire meanwhile:
    compare what was added, not how many there are)."""
    with rig.store.begin() as connection:
        return set(connection.execute(select(rate_counts.c.key)).scalars())


def _address_key(rig: Rig, address: str) -> str:
    return rig.settings.signer().mac("rate", "address", address)


@pytest.mark.slow
async def test_made_up_tokens_make_no_keys_and_the_address_is_limited(
    rig: Rig, tmp_path: Path
) -> None:
    settings = replace_settings(rig, portal_requests_per_address=300)
    port = int(settings.portal_url.rsplit(":", 1)[1])
    web = await serve_web(settings, port=port, client=rig.client)
    try:
        keys = _keys(rig)
        statuses = await _made_up(web.address, 2_000, source="127.0.0.22")  # a new client
    finally:
        await web.stop()
    assert set(statuses) == {404, 429}
    assert 300 <= statuses[404] <= 600  # 300 a minute (two if the run spans a minute's end)
    assert _keys(rig) - keys == {_address_key(rig, "127.0.0.22")}  # no token's


@pytest.mark.slow  # about 2.5 minutes: 100,000 requests to one web process
@pytest.mark.timeout(600)
async def test_a_hundred_thousand_made_up_tokens_keep_memory_flat_and_make_no_keys(
    rig: Rig, tmp_path: Path
) -> None:
    env = web_env(rig, RAPPORT_PORTAL_REQUESTS_PER_ADDRESS="1000000000")
    with web_process(env, tmp_path / "web.log") as (base, process):
        keys = _keys(rig)
        await _made_up(base, 10_000, source="127.0.0.33")  # warm: every path run, caches full
        warm = rss_mib(process.pid)
        began = time.perf_counter()
        statuses = await _made_up(base, 100_000, source="127.0.0.33")
        took = time.perf_counter() - began
        grown = rss_mib(process.pid) - warm
    print(f"100,000 made-up tokens in {took:.1f} s; web process RSS {warm:.1f} MiB, +{grown:.1f}")
    assert statuses == {404: 100_000}
    assert _keys(rig) - keys == {_address_key(rig, "127.0.0.33")}  # no token's
    assert grown < 5  # MiB; it was 87 MB for 100,000 keys


def replace_settings(rig: Rig, **changes: object) -> Settings:
    """The rig's settings for another web app on a port of its own."""
    port = free_port()
    return rig.settings.model_copy(update={"portal_url": f"http://127.0.0.1:{port}", **changes})


# --- every route, fuzzed: no 5xx, no traceback ------------------------------------------

METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")
HEADER_NAMES = (
    "Content-Type",
    "Cookie",
    "Stripe-Signature",
    "X-Twilio-Signature",
    "Authorization",
    "Origin",
    "Accept-Language",
    "Sec-Fetch-Mode",
    "X-Forwarded-For",
    "X-Forwarded-Proto",
    "Content-Encoding",
    "Range",
)
CONTENT_TYPES = (
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=latin-1",
    "multipart/form-data",
    "multipart/form-data; boundary=xyz",
    "application/json",
    "text/plain",
    "é/ü; boundary=",
)
FIELDS = (
    *("csrf", "answer", "amount", "channel", "at", "installments", "next", "mode", "From"),
    *("Body", "MessageSid", "To", "ErrorCode", "MessageStatus", "payloads"),
)
ODD_BODIES = (
    b'{"payloads": [{"metadata": {"encoding": "YmluYXJ5L2VuY3J5cHRlZA=="}, "data": "AA=="}]}',
    b'{"payloads": [{"metadata": {"encryption-key-id": "/w=="}, "data": "AA=="}]}',
    b'--xyz\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n\xe9\r\n--xyz--\r\n',
    b'--xyz\r\nContent-Disposition: form-data; name="a"; filename="x"\r\n\r\nx\r\n--xyz--\r\n',
    b"[" * 5000,
    b"%ZZ=%C3&csrf=%FF",
)
ODD_VALUES = ("é" * 32, "\u202e", "²²", "9" * 5000, "", " ", "0100", "1e999", "NaN", "\x00")
WEBHOOK_SECRET = "whsec_dev_only_not_secret"  # the dev default
EXAMPLES = 20  # per route and method


class Logged(logging.Handler):
    """Every record at WARNING and above, from every logger, while the fuzz runs."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _header_value() -> st.SearchStrategy[bytes]:
    """Bytes a client can put in a header: ASCII, Latin-1 and UTF-8 letters, tabs; never
    CR, LF or NUL (HTTP/1.1 forbids them, and h11 answers 400 before the app)."""
    pieces = [b"a", b"0", b" ", b"\t", b"=", b",", b";", b"%", b"\xe9", b"\xff"]
    pieces += ["é".encode(), "²".encode(), "\u202e".encode(), b"t=1", b"v1=", b"Bearer "]
    return st.lists(st.sampled_from(pieces), max_size=40).map(lambda p: b"".join(p).strip())


def _requests(path: str, method: str, live: list[str]) -> st.SearchStrategy:
    """(method, path) for one route: mostly a live token."""
    token = st.one_of(
        st.just(live[0]),
        st.just(live[0]),
        st.just(live[1]),
        st.text(alphabet="Ab9_-", min_size=16, max_size=24),
        st.text(max_size=30).map(lambda t: quote(t, safe="")),
        st.sampled_from(["%ZZ", "%C3", "..", "%2e%2e", "A" * 300, "é" * 16]),
    )
    part = st.one_of(
        st.sampled_from(["pay", "pay-part", "plan", "talk", "opt-out", "thanks", "portal.css"]),
        st.text(max_size=12).map(lambda t: quote(t, safe="")),
    )
    query = st.one_of(
        st.just(""),
        st.sampled_from(["?lang=es", "?lang=xx", "?account=A-1", "?lang=%ZZ", "?a=1&a=2", "?é"]),
        st.text(max_size=20).map(lambda t: "?" + quote(t, safe="=&")),
    )

    def fill(method: str, tokens: list[str], parts: list[str], q: str) -> tuple[str, str]:
        filled = path.replace("{token}", tokens[0]).replace("{session}", tokens[1])
        return method, filled.replace("{section}", parts[0]).replace("{path}", parts[1]) + q

    pairs = st.lists(token, min_size=2, max_size=2), st.lists(part, min_size=2, max_size=2)
    return st.builds(fill, st.just(method), *pairs, query)


def _body() -> st.SearchStrategy[tuple[str | None, bytes]]:
    """(the Content-Type that goes with it, the body): forms, JSON, multipart, bytes."""
    json_value = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
        ),
        max_leaves=20,
    )
    value = st.text(max_size=30) | st.sampled_from(ODD_VALUES)
    form = st.fixed_dictionaries({}, optional=dict.fromkeys(FIELDS, value))
    urlencoded = "application/x-www-form-urlencoded"
    return st.one_of(
        st.tuples(st.none() | st.sampled_from(CONTENT_TYPES), st.binary(max_size=512)),
        form.map(lambda f: (urlencoded, urlencode(f).encode())),
        form.map(lambda f: (urlencoded, urlencode(f).encode())),
        form.map(
            lambda f: (urlencoded, urlencode(f, encoding="latin-1", errors="replace").encode())
        ),
        json_value.map(lambda v: ("application/json", json.dumps(v).encode())),
        st.tuples(st.sampled_from(CONTENT_TYPES), st.sampled_from(ODD_BODIES)),
    )


def _fuzz(rig: Rig, routes: list[tuple[str, tuple[str, ...]]], live: list[str]) -> set[str]:
    """Hypothesis, route by route, in a worker thread (the app serves on the test's event
    loop): what answered, as `METHOD status`."""
    seen: set[str] = set()
    public = rig.settings.portal_url
    csrf_token = rig.settings.signer().mac("csrf", token_hash(live[0]), "before-check")

    def send(
        client: httpx.Client,
        request: tuple[str, str],
        headers: dict[bytes, bytes],
        typed: tuple[str | None, bytes],
        sign: bool,
    ) -> None:
        (method, path), (content_type, body), sent = request, typed, dict(headers)
        if content_type is not None:
            sent[b"Content-Type"] = content_type.encode()
        if sign and path.startswith(f"/r/{live[0]}"):  # past the CSRF check, into the form
            fields = {**dict(parse_qsl(body.decode("utf-8", "replace"))), "csrf": csrf_token}
            body = urlencode(fields).encode()
            sent[b"Content-Type"] = b"application/x-www-form-urlencoded"
        if sign and path.startswith("/webhooks/"):  # past the signature, into the parsing
            stamp = signature_header(body, WEBHOOK_SECRET, int(time.time()))
            sent[b"Stripe-Signature"] = stamp.encode()
        if sign and path.startswith("/sms/"):
            fields = dict(parse_qsl(body.decode("utf-8", "replace")))
            body = urlencode(fields).encode()
            sent[b"Content-Type"] = b"application/x-www-form-urlencoded"
            signed = twilio_signature(TWILIO, public + path, fields)
            sent[b"X-Twilio-Signature"] = signed.encode()
        answer = client.request(method, path, headers=sent, content=body)
        seen.add(f"{method} {answer.status_code}")
        assert answer.status_code < 500, (method, path, sent, body[:200], answer.text[:300])

    with httpx.Client(base_url=rig.web, timeout=30) as client:  # one: each makes an SSL context
        for path, methods in routes:
            for method in (*methods, "PUT"):  # each method it takes, and one it does not
                fuzz = settings(max_examples=EXAMPLES, deadline=None, database=None)(
                    given(
                        request=_requests(path, method, live),
                        headers=st.dictionaries(
                            st.sampled_from(HEADER_NAMES).map(str.encode),
                            _header_value(),
                            max_size=4,
                        ),
                        typed=_body(),
                        sign=st.booleans(),
                    )(lambda **drawn: send(client, **drawn))
                )
                fuzz()
    return seen


@pytest.mark.slow
async def test_every_route_fuzzed_answers_no_5xx_and_logs_no_traceback(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    routes = [
        (f"{route.path}/{{path}}", ("GET", "HEAD"))
        if isinstance(route, Mount)
        else (route.path, tuple(sorted(route.methods or METHODS)))
        for route in create_app(rig.settings, rig.client).routes
        if isinstance(route, Route | Mount)
    ]
    routes += [("/", METHODS), ("/{path}", METHODS), ("/r/{token}/{section}/{path}", METHODS)]
    _, link = await rig.customer()
    live = [link.rsplit("/", 1)[1], "madeuptoken00000"]
    logged = Logged()
    watched = [logging.getLogger(), logging.getLogger("uvicorn")]  # uvicorn's propagates not
    for logger in watched:
        logger.addHandler(logged)
    try:
        port = int(rig.web.rsplit(":", 1)[1])
        for template, _ in routes:  # every route and method, empty, then too large; then fuzz
            path = template.replace("{token}", live[0]).replace("{section}", "pay")
            path = path.replace("{session}", "cs_x").replace("{path}", "portal.css")
            for method in METHODS:
                answer = await http.request(method, f"{rig.web}{path}")
                assert answer.status_code < 500, (method, path, answer.text[:300])
            head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {5 * MIB}\r\n\r\n"
            refused = await asyncio.to_thread(_refused_while_sending, port, head.encode(), iter([]))
            assert refused[0] == 413, path
        began = time.perf_counter()
        seen = await asyncio.to_thread(_fuzz, rig, routes, live)
        took = time.perf_counter() - began
    finally:
        for logger in watched:
            logger.removeHandler(logged)
    print(
        f"fuzz: {EXAMPLES * sum(len(m) + 1 for _, m in routes)} requests in {took:.1f} s; answers: {', '.join(sorted(seen))}"
    )
    tracebacks = [r for r in logged.records if r.exc_info or "Traceback" in r.getMessage()]
    assert tracebacks == [], [r.getMessage() for r in tracebacks]
    paths = {path for path, _ in routes}
    assert {"/health", "/codec/decode", "/webhooks/payments", "/sms/inbound", "/u/{token}"} <= paths
    assert {"POST 200", "POST 400", "POST 403", "GET 200", "GET 404", "PUT 405"} <= seen


# --- the attack review (after issue 22): what a fresh attacker, and a phone, still found --


async def _tries(rig: Rig, token: str) -> int:
    with rig.store.begin() as connection:
        return int(
            connection.execute(
                select(links.c.failed_checks).where(links.c.token_hash == token_hash(token))
            ).scalar_one()
        )


async def test_digits_from_any_keyboard_pass_and_half_an_answer_takes_no_try(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    """A phone's keyboard can type fullwidth or Arabic-Indic digits:
    they were compared as typed, so the right answer failed and burnt one of five
    tries. An answer that cannot be right (two digits, a slip) burnt one too."""
    answers = {}
    fullwidth, arabic_indic = "\uff10\uff11\uff10\uff10", "\u0660\u0661\u0660\u0660"
    for typed in (fullwidth, arabic_indic, "+1 (212) \u200e555\u20110100"):
        _, link = await rig.customer()
        form = {"csrf": csrf(await http.get(link)), "answer": typed}
        answers[typed] = await http.post(f"{link}/check", data=form)
    _, link = await rig.customer()
    form = {"csrf": csrf(await http.get(link))}
    halves = [await http.post(f"{link}/check", data={**form, "answer": a}) for a in ("01", "", "x")]
    assert {typed: a.status_code for typed, a in answers.items()} == dict.fromkeys(answers, 303)
    assert [h.status_code for h in halves] == [422] * 3
    assert "Please type the last 4 digits" in halves[0].text
    assert "try 4 more" not in halves[0].text
    assert await _tries(rig, link.rsplit("/", 1)[1]) == 0


async def test_a_refusal_page_never_links_to_another_site(rig: Rig) -> None:
    """The page of a refused request (413, 400) linked its own path for the other
    language: POST //evil.example/x gave `<a href="//evil.example/x?lang=es">`, a link
    off our site on our page (and /%5C... is the same to a browser)."""
    port = int(rig.web.rsplit(":", 1)[1])
    pages = []
    for path in ("//evil.example/x", "/%5Cevil.example/x", "/%09/evil.example", "/r//evil.ex"):
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {20 * 1024}\r\n"
            "Connection: close\r\n\r\n"
        ).encode()
        pages.append(await asyncio.to_thread(_answer_of, port, head))
    for status, page in pages:
        assert status == 413
        assert "<h1>" in page
        assert "evil" not in page, page


def _answer_of(port: int, head: bytes) -> tuple[int, str]:
    """Send `head` alone (a body announced, never sent): (status, the whole answer)."""
    with socket.create_connection(("127.0.0.1", port)) as connection:
        connection.sendall(head)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1]), answer.decode("utf-8", "replace")


async def test_an_ipv6_client_rotating_through_its_64_is_one_client(rig: Rig) -> None:
    """The per-address limit was per address: one IPv6 line has 2^64 of them, so a
    client that changes address each request was never limited. (The proxy's
    X-Forwarded-For carries the address, as it does behind RAPPORT_FORWARDED_ALLOW_IPS.)"""
    settings = replace_settings(rig, portal_requests_per_address=30)
    port = int(settings.portal_url.rsplit(":", 1)[1])
    web = await serve_web(settings, port=port, client=rig.client)
    try:
        async with httpx.AsyncClient(base_url=web.address) as client:
            rotating = [
                await client.get(
                    f"/r/madeup{n:010d}", headers={"X-Forwarded-For": f"2001:db8:77:1::{n:x}"}
                )
                for n in range(1, 61)
            ]
            neighbour = await client.get(
                "/r/madeup0000000000", headers={"X-Forwarded-For": "2001:db8:77:2::1"}
            )
            mapped = [
                await client.get("/r/madeup0000000000", headers={"X-Forwarded-For": address})
                for address in ("::ffff:198.51.100.7",) * 31
            ]
    finally:
        await web.stop()
    statuses = [r.status_code for r in rotating]
    assert 404 in statuses, statuses
    assert 429 in statuses, statuses  # 30 a minute (60 at a minute's end)
    assert neighbour.status_code == 404  # another line is another client
    assert mapped[-1].status_code == 429  # ::ffff:198.51.100.7 is 198.51.100.7


async def test_a_link_with_nothing_to_ask_shows_nothing_about_the_account(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    """A link without an identity check (kept before checks existed, or sent where no
    phone or email could be asked) counted as checked: anyone holding it saw the debt
    and could act on it."""
    account_id, _ = await rig.customer()
    await rig.status_when(account_id, lambda s: s.balance is not None)
    token = "N" + account_id.replace("-", "")[:15].ljust(15, "n")
    LinkBook(rig.store).keep(
        token,
        Link(
            account_id=account_id,
            journey_id="portal",
            purpose="respond",
            channel="sms",
            address=None,
            expires_at=datetime.now(UTC) + timedelta(days=1),
        ),
        datetime.now(UTC),
    )
    url = f"{rig.web}/r/{token}"
    landing = await http.get(url)
    pay = await http.get(f"{url}/pay-part")
    hardship = await http.post(
        f"{url}/hardship", data={"csrf": csrf(await http.get(f"{url}/opt-out"))}
    )
    for page in (landing, pay, hardship):
        assert page.status_code == 200
        assert "300.00" not in page.text
        assert "Account ending" not in page.text
        assert "Please call us" in page.text
        assert "800-555-0100" in page.text  # whom to call
        assert 'name="answer"' not in page.text  # nothing to ask
    history = await rig.client.get_workflow_handle(workflow_id(account_id)).fetch_history()
    signals = {e.workflow_execution_signaled_event_attributes.signal_name for e in history.events}
    assert "hardship_reported" not in signals


async def test_a_foreign_host_gets_a_page_or_a_problem_document_not_a_bare_400(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    _, link = await rig.customer()
    evil = {"Host": "rebind.evil.example"}
    codec = await http.post(f"{rig.web}/codec/decode", json={"payloads": []}, headers=evil)
    page = await http.get(f"{link}?lang=es", headers=evil)
    shouted = await http.get(link, headers={"Host": "LOCALHOST"})  # names have no case
    bracketed = await http.get(link, headers={"Host": "[::1]:8000"})  # IPv6 loopback
    assert (codec.status_code, page.status_code) == (400, 400)
    assert codec.headers["content-type"] == "application/problem+json"
    assert "Host" in codec.json()["detail"]
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>" in page.text
    assert "Invalid host header" not in page.text
    assert "300.00" not in page.text
    assert shouted.status_code == 200
    assert bracketed.status_code == 200


async def test_help_names_the_creditor_and_its_number_not_the_bill(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    """HELP answered "Call us on the number on your bill": a text from an unknown
    sender with no number, when the creditor's number is set (RAPPORT_CREDITOR_PHONE)."""
    account_id, _ = await rig.customer()
    phone = rig.account(account_id).customer.phone
    answers = {}
    for word in ("HELP", "AYUDA"):
        fields = {"From": str(phone), "Body": word, "MessageSid": f"SM{word}{account_id}"}
        signed = twilio_signature(TWILIO, f"{rig.settings.portal_url}/sms/inbound", fields)
        answers[word] = await http.post(
            f"{rig.web}/sms/inbound", data=fields, headers={"X-Twilio-Signature": signed}
        )
    assert answers["HELP"].status_code == 200
    # the number as the account's region dials it, or in international form
    english = re.search(
        r"Rapport Demo Energy: questions about your account\? Call us on ([^.]+)\.",
        answers["HELP"].text,
    )
    spanish = re.search(r"Llámenos al ([^.]+)\.", answers["AYUDA"].text)
    assert english, answers["HELP"].text
    assert spanish, answers["AYUDA"].text
    assert english.group(1).endswith("555-0100")
    assert spanish.group(1).endswith("555-0100")
    assert "your bill" not in answers["HELP"].text


async def test_the_store_keeps_no_address_of_a_link_in_clear(rig: Rig) -> None:
    """Issue 22: the links table kept the whole phone number, defeating its own keyed
    check. The raw row holds neither the number nor its last four digits."""
    account_id, _ = await rig.customer()
    phone = str(rig.account(account_id).customer.phone)
    with rig.store.begin() as connection:
        rows = connection.execute(select(links).where(links.c.account_id == account_id)).all()
    assert rows
    for row in rows:
        text = " ".join(str(value) for value in row)
        assert phone not in text
        assert phone[1:] not in text
        assert row.address_sealed is not None  # kept, sealed: an opt-out from the page uses it


async def test_a_host_we_answer_for_never_changes_where_links_lead(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    """Host: localhost (one of ours) while paying: the provider's page and the way back
    are still the public URL's, never the Host a request named."""
    _, link = await rig.customer()
    port = link.split("/")[2].rsplit(":", 1)[1]
    host = {"Host": f"localhost:{port}"}
    async with httpx.AsyncClient(headers=host) as browser:  # keeps the session's cookie
        passed = await browser.post(
            f"{link}/check", data={"csrf": csrf(await browser.get(link)), "answer": "0100"}
        )
        paying = await browser.post(f"{link}/pay", data={"csrf": csrf(await browser.get(link))})
    assert passed.status_code == 303
    assert paying.status_code == 303
    assert paying.headers["location"].startswith(f"{rig.settings.portal_url}/dev-provider/")
    page = await http.get(paying.headers["location"])
    assert "localhost" not in page.text
    assert f"{rig.settings.portal_url}/p/" in page.text


# --- in a real browser: another site's form and frame, a phone's own digits -------------


@asynccontextmanager
async def another_site(pages: dict[str, str]) -> AsyncIterator[str]:
    """A site of the attacker's (`http://localhost:PORT`: another site than the portal's
    127.0.0.1), serving `pages` by path."""

    async def serve(request: Request) -> HTMLResponse:
        return HTMLResponse(pages[request.path_params["name"]])

    port = free_port()
    app = Starlette(routes=[Route("/{name}", serve)])
    server = await serve_asgi(app, "127.0.0.1", port)
    try:
        yield f"http://localhost:{port}"
    finally:
        await server.stop()


@pytest.mark.browser
@pytest.mark.slow
async def test_another_sites_form_and_frame_reach_nothing_in_a_signed_in_browser(
    rig: Rig, browser: Browser, http: httpx.AsyncClient
) -> None:
    """The customer passed the check in this browser; a page on another site then posts
    a form to the portal (with the form token any visitor of the link gets) and frames
    it. The post arrives without the session (SameSite=Lax) and changes nothing; the
    frame stays empty (frame-ancestors 'none')."""
    account_id, link = await rig.customer()
    before_check = csrf(await http.get(link))  # what the attacker can know
    pages = {
        "post": (
            f'<form method="post" action="{link}/hardship">'
            f'<input name="csrf" value="{before_check}"></form>'
            "<script>document.forms[0].submit()</script>"
        ),
        "frame": f'<iframe src="{link}" width="300" height="300"></iframe>',
    }
    context = await browser.new_context(**PHONE)
    try:
        page = await context.new_page()
        page.set_default_timeout(15_000)
        await page.goto(link)
        await page.get_by_label("The last 4 digits of the phone number we texted").fill("0100")
        await page.get_by_role("button", name="Continue").click()
        await expect(page.get_by_role("heading", name="Thanks for stopping by")).to_be_visible()
        async with another_site(pages) as evil:
            await page.goto(f"{evil}/post")
            await page.wait_for_url(f"{link}/hardship")
            posted = await page.content()
            await page.goto(f"{evil}/frame")
            await page.wait_for_timeout(500)
            framed = [await frame.content() for frame in page.frames[1:]]
        await page.goto(link)  # the session is still there, untouched
        await expect(page.get_by_role("heading", name="Thanks for stopping by")).to_be_visible()
    finally:
        await context.close()
    assert "Confirm it" in posted  # no session came with the post
    assert "Thank you for telling us" not in posted
    assert framed
    assert all("Confirm it" not in html and "300.00" not in html for html in framed)
    history = await rig.client.get_workflow_handle(workflow_id(account_id)).fetch_history()
    signals = {e.workflow_execution_signaled_event_attributes.signal_name for e in history.events}
    assert "hardship_reported" not in signals


@pytest.mark.browser
@pytest.mark.slow
async def test_a_phone_that_types_fullwidth_digits_gets_in(rig: Rig, browser: Browser) -> None:
    """The check's field refused anything but ASCII digits in the browser itself
    (pattern="[0-9]{4}"), and a pasted whole number was cut to its first four
    characters (maxlength="4"): a customer whose keyboard types fullwidth digits could
    not get in at all."""
    _, link = await rig.customer()
    context = await browser.new_context(**PHONE)
    try:
        page = await context.new_page()
        page.set_default_timeout(15_000)
        await page.goto(link)
        field = page.get_by_label("The last 4 digits of the phone number we texted")
        await field.fill("01")
        await page.get_by_role("button", name="Continue").click()
        await expect(page.get_by_role("alert")).to_contain_text("Please type the last 4 digits")
        await shot(page, "check-half-typed")
        await field.fill("\uff10\uff11\uff10\uff10")
        await page.get_by_role("button", name="Continue").click()
        await expect(page.get_by_role("heading", name="Thanks for stopping by")).to_be_visible()
        await page.goto(link)
        await page.context.clear_cookies()
        await page.goto(link)
        await field.fill("+1 212 555 0100")  # pasted whole
        await page.get_by_role("button", name="Continue").click()
        await expect(page.get_by_role("heading", name="Thanks for stopping by")).to_be_visible()
    finally:
        await context.close()


async def test_the_unsubscribe_page_says_whose_it_is_and_speaks_either_language(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    """/u/ was a bare page with no creditor's name (a page anyone could have made), and
    no way to the other language."""
    account_id, _ = await rig.customer()
    token = "W" + account_id.replace("-", "")[:15].ljust(15, "w")
    LinkBook(rig.store, rig.settings.address_sealer()).keep(
        token,
        Link(
            account_id=account_id,
            journey_id="portal",
            purpose="unsubscribe",
            channel="email",
            address="riley@example.com",
            expires_at=datetime.now(UTC) + timedelta(days=1),
        ),
        datetime.now(UTC),
    )
    url = f"{rig.web}/u/{token}"
    page = await http.get(url)
    spanish = await http.get(f"{url}?lang=es")
    form = re.search(r'<form method="post" action="([^"]+)"', spanish.text)
    assert form, spanish.text
    done = await http.post(f"{rig.web}{form.group(1)}", content=b"List-Unsubscribe=One-Click")
    assert page.status_code == 200
    assert '<p class="creditor">Rapport Demo Energy</p>' in page.text
    assert "r***@example.com" in page.text
    assert f'href="/u/{token}?lang=es"' in page.text
    assert "300.00" not in page.text + spanish.text
    assert '<html lang="es">' in spanish.text
    assert "¿Dejar de recibir correos?" in spanish.text
    assert done.status_code == 200
    assert "Listo: no más correos" in done.text
    assert rig.consent.refusal(account_id, "email", "riley@example.com") is not None


async def test_an_accounts_links_together_give_ten_tries_not_five_each(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    """Each message is a link with five tries of its own: an attacker holding three of
    one account's messages (forwarded, or screenshots) had fifteen guesses. After ten
    wrong answers between them, even the right one on the third link gets no session."""
    account_id, first = await rig.customer()
    signer = rig.settings.signer()
    others = []
    for letter in "QR":
        token = letter + account_id.replace("-", "")[:15].ljust(15, letter.lower())
        LinkBook(rig.store).keep(
            token,
            Link(
                account_id=account_id,
                journey_id="portal",
                purpose="respond",
                channel="sms",
                address=None,
                expires_at=datetime.now(UTC) + timedelta(days=1),
                check_kind="phone_last4",
                check_hash=signer.check_hash("phone_last4", "0100"),
            ),
            datetime.now(UTC),
        )
        others.append(f"{rig.web}/r/{token}")
    wrong = []
    for link in (first, others[0]):
        form = {"csrf": csrf(await http.get(link)), "answer": "9999"}
        wrong += [(await http.post(f"{link}/check", data=form)).status_code for _ in range(5)]
    third = await http.get(others[1])  # the lock page at once: no form that cannot work
    before_check = signer.mac("csrf", token_hash(others[1].rsplit("/", 1)[1]), "before-check")
    right = await http.post(f"{others[1]}/check", data={"csrf": before_check, "answer": "0100"})
    assert wrong == [422] * 4 + [403] + [422] * 4 + [403]
    assert third.status_code == 403
    assert "Too many tries" in third.text
    assert 'name="answer"' not in third.text
    assert right.status_code == 403
    assert "Too many tries" in right.text
    assert "rp_" not in right.headers.get("set-cookie", "")


async def test_a_receipt_is_not_there_for_the_next_person_on_a_shared_phone(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    """The page after paying needs no identity check (only the browser's cookie), and it
    showed the amount and the account's reference for thirty days: long after the
    session, to anyone opening the phone's history. Now two hours."""
    _, link = await rig.customer()
    async with httpx.AsyncClient() as phone:
        await phone.post(
            f"{link}/check", data={"csrf": csrf(await phone.get(link)), "answer": "0100"}
        )
        paying = await phone.post(f"{link}/pay", data={"csrf": csrf(await phone.get(link))})
        cookie = paying.headers["set-cookie"]
        reference = re.search(r"Path=/p/([A-Za-z0-9_-]{22})", cookie)
        assert reference, cookie
        receipt = f"{rig.web}/p/{reference.group(1)}"
        soon = await phone.get(receipt)
        with rig.store.begin() as connection:
            connection.execute(
                update(checkouts)
                .where(checkouts.c.reference == reference.group(1))
                .values(created_at=datetime.now(UTC) - timedelta(hours=3))
            )
        later = await phone.get(receipt)
    max_age = int(re.search(r"Max-Age=(\d+)", cookie).group(1))  # type: ignore[union-attr]
    assert soon.status_code == 200
    assert "Account ending in" in soon.text
    assert max_age <= 2 * 3600
    assert later.status_code == 404
    assert "300.00" not in later.text
    assert "Account ending in" not in later.text


@pytest.mark.slow  # about 2 s: a second web app, twenty pages
async def test_markup_in_names_and_the_creditors_settings_is_text_in_both_languages(
    rig: Rig,
) -> None:
    """Markup in the customer's name and attributes (from billing) and in the creditor's
    settings (from an operator) is shown as text on every page, in English and Spanish,
    and in the HTML part of an email: never run, never a tag."""
    evil_name = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    account_id, link = await rig.customer(
        customer__first_name=evil_name,
        customer__last_name="</title><svg onload=alert(3)>",
        customer__locale="es-MX",
        attributes={"plan": "<iframe src=//evil.example>", "note": "{{ 7*7 }}"},
    )
    _, locked = await rig.customer()
    settings = replace_settings(
        rig,
        creditor_name='Acme <b onclick="alert(4)">Bank</b> & "Co"',
        creditor_email='help@acme.example"><script>alert(5)</script>',
    )
    port = int(settings.portal_url.rsplit(":", 1)[1])
    web = await serve_web(settings, port=port, client=rig.client)
    base, path, locked_path = web.address, link.removeprefix(rig.web), locked.removeprefix(rig.web)
    pages = []
    try:
        async with httpx.AsyncClient(base_url=base) as browser:
            for _ in range(5):
                form = {"csrf": csrf(await browser.get(locked_path)), "answer": "9999"}
                await browser.post(f"{locked_path}/check", data=form)
            pages.append(await browser.get(locked_path))
            pages.append(await browser.get("/r/nothing-here-at-all"))
            for language in ("es", "en"):
                pages.append(await browser.get(f"{path}?lang={language}"))
            form = {"csrf": csrf(pages[-1]), "answer": "0100"}
            await browser.post(f"{path}/check", data=form)
            for section in ("", "/pay-part", "/plan", "/talk", "/opt-out", "/thanks"):
                for language in ("es", "en"):
                    pages.append(await browser.get(f"{path}{section}?lang={language}"))
    finally:
        await web.stop()
    assert "Acme &lt;b onclick=" in pages[-1].text
    assert "Account ending in" in pages[-1].text
    assert pages[0].status_code == 403
    assert "Too many tries" in pages[0].text
    for page in pages:
        assert page.status_code in (200, 403, 404), page.text
        for tag in ("<script", "<img", "<svg", "<iframe", "<b ", 'onclick="', "</title><"):
            assert tag not in page.text, (tag, page.url)
    html = to_html(rig.texts.items[next(iter(rig.texts.items))].body.replace("Robin", evil_name))
    assert "<script" not in html
    assert "&lt;script&gt;" in html
    assert account_id not in "".join(page.text for page in pages[:4])  # before the check


async def test_a_locked_link_says_so_when_opened_not_after_another_answer(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    """A link locked by five wrong answers still showed the check's form when opened
    again: the customer typed the right answer, and only then learnt that it could not
    work, and whom to call."""
    _, link = await rig.customer()
    form = {"csrf": csrf(await http.get(link)), "answer": "9999"}
    for _ in range(5):
        await http.post(f"{link}/check", data=form)
    opened = [await http.get(f"{link}{section}") for section in ("", "/pay-part", "/opt-out")]
    assert [page.status_code for page in opened] == [403, 403, 200]  # stopping needs no check
    for page in opened[:2]:
        assert "Too many tries" in page.text
        assert 'name="answer"' not in page.text
        assert "555-0100" in page.text  # whom to call


@pytest.mark.browser
@pytest.mark.slow
async def test_signing_out_leaves_nothing_for_the_next_person_on_the_phone(
    rig: Rig, browser: Browser
) -> None:
    """A session lasted its thirty minutes whatever the customer did: on a shared phone
    the next person to open the link, or to press Back, saw the debt. Now every page
    after the check offers Sign out; after it, Back and the link meet the check."""
    _, link = await rig.customer()
    context = await browser.new_context(**PHONE)
    try:
        page = await context.new_page()
        page.set_default_timeout(15_000)
        await page.goto(link)
        await page.get_by_label("The last 4 digits of the phone number we texted").fill("0100")
        await page.get_by_role("button", name="Continue").click()
        await page.get_by_role("link", name="Pay part of it").click()
        await expect(page.get_by_role("heading", name="Pay part of it")).to_be_visible()
        await page.get_by_role("button", name="Sign out").click()
        await expect(page.get_by_role("heading", name="You are signed out")).to_be_visible()
        await shot(page, "signed-out")
        signed_out = await page.content()
        await page.go_back()
        await page.wait_for_load_state()
        back = await page.content()
        await page.goto(link)
        again = await page.content()
    finally:
        await context.close()
    for html in (signed_out, back, again):
        assert "300.00" not in html
        assert "Account ending in" not in html
    assert "Confirm it" in back
    assert "Confirm it" in again


async def test_x_forwarded_for_from_a_client_that_is_not_our_proxy_is_not_believed(
    rig: Rig,
) -> None:
    """A client rotating X-Forwarded-For to look like many: believed only from the
    proxies in RAPPORT_FORWARDED_ALLOW_IPS, so from anyone else it is one client."""
    settings = replace_settings(
        rig, portal_requests_per_address=30, forwarded_allow_ips="192.0.2.10"
    )
    port = int(settings.portal_url.rsplit(":", 1)[1])
    web = await serve_web(settings, port=port, client=rig.client)
    transport = httpx.AsyncHTTPTransport(local_address="127.0.0.44")
    try:
        async with httpx.AsyncClient(base_url=web.address, transport=transport) as client:
            statuses = [
                (
                    await client.get(
                        f"/r/madeup{n:010d}", headers={"X-Forwarded-For": f"198.51.100.{n}"}
                    )
                ).status_code
                for n in range(1, 61)
            ]
    finally:
        await web.stop()
    assert 429 in statuses, statuses


@pytest.mark.browser
@pytest.mark.slow
async def test_an_email_address_that_is_not_ascii_passes_the_check_in_a_browser(
    rig: Rig, browser: Browser
) -> None:
    """The email check's field was type="email": Chromium sends an international
    domain in its DNS form (xn--...), which never matched the address as kept, and
    refuses to send a name that is not ASCII (rïley@...) at all. Either customer could
    never get in."""
    account_id, _ = await rig.customer()
    signer, now = rig.settings.signer(), datetime.now(UTC)
    links_ = {}
    for letter, address in (("I", "riley@bücher.example"), ("L", "rïley@example.com")):
        token = letter + account_id.replace("-", "")[:15].ljust(15, letter.lower())
        kind, expected = identity_check("email", address) or ("", "")
        LinkBook(rig.store).keep(
            token,
            Link(
                account_id=account_id,
                journey_id="portal",
                purpose="respond",
                channel="email",
                address=None,
                expires_at=now + timedelta(days=1),
                check_kind=kind,
                check_hash=signer.check_hash(kind, expected),
            ),
            now,
        )
        links_[address] = f"{rig.web}/r/{token}"
    context = await browser.new_context(**PHONE)
    try:
        page = await context.new_page()
        page.set_default_timeout(15_000)
        for address, link in links_.items():
            await page.goto(link)
            await page.get_by_label("The email address this message was sent to").fill(address)
            await page.get_by_role("button", name="Continue").click()
            await expect(page.get_by_role("heading", name="Thanks for stopping by")).to_be_visible()
    finally:
        await context.close()


async def test_the_check_leads_only_to_the_portals_own_pages(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    """`next` (where the check leads after a right answer) names a section of the table,
    or the landing page: never another site, another link or a path of its own."""
    _, link = await rig.customer()
    path = link.removeprefix(rig.web)
    tries = ("//evil.example", "https://evil.example/x", "/\\evil.example", "../u/x", "pay-part")
    places = []
    for following in tries:
        async with httpx.AsyncClient() as phone:
            form = {"csrf": csrf(await phone.get(link)), "answer": "0100", "next": following}
            passed = await phone.post(f"{link}/check", data=form)
            places.append(passed.headers["location"])
    assert places == [path] * 4 + [f"{path}/pay-part"]


async def test_a_link_that_no_longer_works_answers_in_the_visitors_language(
    rig: Rig, http: httpx.AsyncClient
) -> None:
    """An expired link (they live 30 days) opened by a customer who reads Spanish was
    answered in English, and so was 'please wait' even after choosing Spanish: pages
    without a live link now speak the browser's language, or the one chosen."""
    account_id, _ = await rig.customer(customer__locale="es-MX")
    token = "X" + account_id.replace("-", "")[:15].ljust(15, "x")
    LinkBook(rig.store).keep(
        token,
        Link(
            account_id=account_id,
            journey_id="portal",
            purpose="respond",
            channel="sms",
            address=None,
            expires_at=datetime.now(UTC) - timedelta(minutes=1),
            locale="es-MX",
        ),
        datetime.now(UTC) - timedelta(days=31),
    )
    spanish = {"Accept-Language": "es-MX,es;q=0.9,en;q=0.5"}
    expired = await http.get(f"{rig.web}/r/{token}", headers=spanish)
    settings = replace_settings(rig, portal_requests_per_address=2)
    port = int(settings.portal_url.rsplit(":", 1)[1])
    web = await serve_web(settings, port=port, client=rig.client)
    transport = httpx.AsyncHTTPTransport(local_address="127.0.0.55")
    try:
        async with httpx.AsyncClient(base_url=web.address, transport=transport) as client:
            slow = [await client.get(f"/r/madeup{n:010d}?lang=es") for n in range(4)][-1]
    finally:
        await web.stop()
    assert expired.status_code == 404
    assert '<html lang="es">' in expired.text
    assert "Este enlace no funciona" in expired.text
    assert slow.status_code == 429
    assert '<html lang="es">' in slow.text


@pytest.mark.browser
@pytest.mark.slow
async def test_a_site_that_opened_the_portal_cannot_turn_its_tab_into_another_page(
    rig: Rig, browser: Browser
) -> None:
    """A page on another site opens the portal in a new tab (window.open), waits for the
    customer to sign in, then sends that tab to a page of its own that looks like the
    portal (reverse tabnabbing). Cross-Origin-Opener-Policy cuts the tie."""
    _, link = await rig.customer()
    pages = {
        "opener": (
            "<script>var w = window.open(" + json.dumps(link) + ");"
            "setTimeout(function(){ try { w.location = '/phish'; } catch (e) {} }, 1500);"
            "</script>"
        ),
        "phish": "<h1>Confirm your card</h1>",
    }
    context = await browser.new_context(**PHONE)
    try:
        opener = await context.new_page()
        async with another_site(pages) as evil, context.expect_page() as opened:
            await opener.goto(f"{evil}/opener")
            portal = await opened.value
            await portal.wait_for_load_state()
            await opener.wait_for_timeout(2500)
            landed = portal.url
    finally:
        await context.close()
    assert landed == link
