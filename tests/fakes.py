"""Real servers on loopback standing in for providers: an SMTP mailbox (aiosmtpd), an
SMS API with the shape of Twilio's Messages resource, a billing API and a webhook
receiver that verifies signatures. Each is programmable to fail as providers do."""

from __future__ import annotations

import asyncio
import base64
import email
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from email.message import Message
from pathlib import Path
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from rapport.runtime.servers import free_port
from rapport.security.signatures import BadSignature, verify
from rapport.store.recipients import RecipientIndex
from rapport.web.app import serve_asgi
from tests.stores import migrated_sqlite


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """Run an aiohttp app on a free loopback port; yield its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def serving_asgi(app: Any) -> AsyncIterator[str]:
    """Run an ASGI app (ours) under uvicorn on a free loopback port; yield its base URL."""
    web = await serve_asgi(app, "127.0.0.1", free_port())
    try:
        yield web.address
    finally:
        await web.stop()


# --- SMTP --------------------------------------------------------------------------------


@dataclass
class Mailbox:
    """Accepts mail like a real mailbox: one copy per Message-ID."""

    refuse: set[str] = field(default_factory=set)
    received: list[Message] = field(default_factory=list)

    @property
    def unique(self) -> dict[str, Message]:
        return {m["Message-ID"]: m for m in self.received}

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.received.append(email.message_from_bytes(envelope.original_content or b""))
        return "250 Message accepted"


@asynccontextmanager
async def smtp_server(mailbox: Mailbox) -> AsyncIterator[int]:
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


# --- SMS provider ------------------------------------------------------------------------


class Hold:
    """Makes a server accept the next request and then never answer it, as when a
    worker dies after the provider took the message but before the reply arrived."""

    def __init__(self, count: int = 0) -> None:
        self.count = count
        self.holding = asyncio.Event()
        self.released = asyncio.Event()

    async def maybe_hold(self) -> None:
        if self.count > 0:
            self.count -= 1
            self.holding.set()
            await self.released.wait()


@dataclass
class FakeSmsProvider:
    """`POST /2010-04-01/Accounts/{sid}/Messages.json` with basic auth."""

    sid: str = "AC123"
    token: str = "secret-token"
    bad_numbers: set[str] = field(default_factory=set)
    failures: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    messages: list[dict[str, str]] = field(default_factory=list)
    requests: int = 0
    hold: Hold = field(default_factory=Hold)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(f"/2010-04-01/Accounts/{self.sid}/Messages.json", self.create)
        return app

    async def create(self, request: web.Request) -> web.Response:
        self.requests += 1
        expected = "Basic " + base64.b64encode(f"{self.sid}:{self.token}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return web.json_response({"code": 20003, "message": "Authenticate"}, status=401)
        form = {k: str(v) for k, v in (await request.post()).items()}
        if self.hold.count > 0:  # taken, and the answer comes too late or never
            self.messages.append(form)
            await self.hold.maybe_hold()
            return web.json_response({"sid": f"SM{len(self.messages)}"}, status=201)
        if self.failures:
            status, headers = self.failures.pop(0)
            return web.json_response(
                {"code": 20500, "message": "busy"}, status=status, headers=headers
            )
        if form["To"] in self.bad_numbers:
            return web.json_response(
                {
                    "code": 21211,
                    "message": f"The 'To' number {form['To']} is not a valid phone number.",
                },
                status=400,
            )
        self.messages.append(form)
        return web.json_response({"sid": f"SM{len(self.messages)}", "status": "queued"}, status=201)


# --- billing -----------------------------------------------------------------------------


@dataclass
class FakeBilling:
    balances: dict[str, Decimal] = field(default_factory=dict)
    failures: int = 0
    requests: int = 0
    hold: Hold = field(default_factory=Hold)
    payment_methods: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    method_failures: int = 0
    delay: float = 0.0  # seconds each answer takes (a slow billing system)
    asked: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/accounts/{account_id}", self.account)
        app.router.add_post("/accounts/{account_id}/payment-method", self.payment_method)
        return app

    async def payment_method(self, request: web.Request) -> web.Response:
        if self.method_failures > 0:
            self.method_failures -= 1
            return web.Response(status=503, text="maintenance")
        self.payment_methods.append((request.match_info["account_id"], await request.json()))
        return web.json_response({"ok": True})

    async def account(self, request: web.Request) -> web.Response:
        self.requests += 1
        self.asked.set()
        await self.hold.maybe_hold()
        await asyncio.sleep(self.delay)
        if self.failures > 0:
            self.failures -= 1
            return web.Response(status=503, text="maintenance")
        account_id = request.match_info["account_id"]
        if account_id not in self.balances:
            return web.json_response({"error": "unknown account"}, status=404)
        return web.json_response(
            {"account_id": account_id, "balance": str(self.balances[account_id])}
        )


# --- webhook receiver --------------------------------------------------------------------


@dataclass
class WebhookReceiver:
    """Verifies signatures and keeps one copy per Idempotency-Key, as a receiver should."""

    secret: str
    received: list[dict[str, Any]] = field(default_factory=list)
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)
    rejected: int = 0
    hold: Hold = field(default_factory=Hold)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hook", self.hook)
        return app

    async def hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            verify(self.secret, dict(request.headers), body)
        except BadSignature as exc:
            self.rejected += 1
            return web.Response(status=401, text=str(exc))
        payload = await request.json()
        self.received.append(payload)
        key = request.headers["Idempotency-Key"]
        if key in self.accepted:
            return web.Response(status=200, text="already have it")
        self.accepted[key] = payload
        await self.hold.maybe_hold()
        return web.Response(status=202, text="accepted")


def recipients_at(folder: Path) -> RecipientIndex:
    """The SMS recipient index in a migrated SQLite store under `folder`."""
    return RecipientIndex(migrated_sqlite(folder / "rapport.db"))
