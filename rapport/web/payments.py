"""`POST /webhooks/payments`: the payment provider's signed webhook, in Stripe's format
and signature (so a real Stripe account works by configuration), and, with
`RAPPORT_PAYMENT_PROVIDER=dev`, a stand-in provider under `/dev-provider/` that speaks
the same wire format over HTTP: it creates checkout sessions, shows a hosted page with a
Pay button, and calls the webhook signed as a real provider would.

A completed checkout becomes `payment_received` with the provider's payment id (the
`payment_intent`), or `engagement` for new payment details; a repeated event id changes
nothing; a bad signature gets 400 and changes nothing. When Temporal does not take the
signal, the event is forgotten and answered 503, so the provider sends it again.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

import httpx
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from rapport.client.journeys import JourneyError
from rapport.contract.metrics import PAYMENTS, count
from rapport.money import from_minor
from rapport.payments.events import BadEvent, completed_checkout, signature_header, verified
from rapport.security.compare import same
from rapport.store.database import StoreUnavailable
from rapport.store.payments import PaymentEvents
from rapport.web.journeys import JourneyLink, Unavailable
from rapport.web.problems import problem

log = logging.getLogger("rapport.payments")


class PaymentWebhook:
    def __init__(self, secret: str, events: PaymentEvents, journeys: JourneyLink) -> None:
        self.secret, self.events, self.journeys = secret, events, journeys

    def routes(self) -> list[Route]:
        return [Route("/webhooks/payments", self.receive, methods=["POST"])]

    async def receive(self, request: Request) -> Response:
        body = await request.body()
        try:
            event = verified(
                body, request.headers.get("Stripe-Signature", ""), self.secret, time.time()
            )
            done = completed_checkout(event)
        except BadEvent as exc:
            log.warning("payment webhook refused: %s", exc)
            count(PAYMENTS, status="refused")
            return problem(400, str(exc), exc.field)
        if done is None:
            count(PAYMENTS, status="ignored")
            return JSONResponse({"received": True, "ignored": event.get("type")})
        try:
            first = await asyncio.to_thread(
                self.events.first_time, done.event_id, done.account_id, datetime.now(UTC)
            )
        except StoreUnavailable:
            count(PAYMENTS, status="unavailable")
            return problem(503, "the event could not be recorded; send it again")
        if not first:
            log.info("payment event repeated", extra={"account_id": done.account_id})
            count(PAYMENTS, status="duplicate")
            return JSONResponse({"received": True, "duplicate": True})
        try:
            if done.payment_id is None:
                await self.journeys.signal(done.account_id, "engagement", {"kind": "clicked"})
            else:
                await self.journeys.signal(
                    done.account_id,
                    "payment_received",
                    {
                        "amount": str(done.amount),
                        "payment_id": done.payment_id,
                        "currency": done.currency,
                    },
                )
        except JourneyError as exc:  # no journey running, or it refused: nothing to retry
            log.info(
                "payment event not for a running journey: %s",
                exc,
                extra={"account_id": done.account_id},
            )
            count(PAYMENTS, status="not_running")
            return JSONResponse({"received": True})
        except Unavailable:
            await asyncio.to_thread(self.events.forget, done.event_id)
            count(PAYMENTS, status="unavailable")
            return problem(503, "the journey could not be told yet; send it again")
        log.info(
            "payment event taken",
            extra={"account_id": done.account_id, "payment": done.payment_id or "setup"},
        )
        count(PAYMENTS, status="taken" if done.payment_id else "setup")
        return JSONResponse({"received": True})


@dataclass
class _Session:
    id: str
    mode: str
    account_id: str
    currency: str
    amount: int | None
    success_url: str
    cancel_url: str


class DevProvider:
    """A stand-in for Stripe Checkout, for development and tests: sessions live in this
    process's memory, and no money moves."""

    def __init__(self, public_url: str, api_key: str, webhook_secret: str) -> None:
        self.base = f"{public_url.rstrip('/')}/dev-provider"
        self.webhook = f"{public_url.rstrip('/')}/webhooks/payments"
        self.api_key, self.secret = api_key, webhook_secret
        self.sessions: dict[str, _Session] = {}

    def routes(self) -> list[Route]:
        return [
            Route("/dev-provider/v1/checkout/sessions", self.create, methods=["POST"]),
            Route("/dev-provider/pay/{session}", self.page, methods=["GET"]),
            Route("/dev-provider/pay/{session}", self.pay, methods=["POST"]),
        ]

    async def create(self, request: Request) -> Response:
        expected = "Basic " + base64.b64encode(f"{self.api_key}:".encode()).decode()
        if not same(request.headers.get("Authorization"), expected):
            return problem(401, "the API key is wrong", "Authorization")
        form = {k: str(v) for k, v in (await request.form()).items()}
        mode = form.get("mode", "")
        amount = form.get("line_items[0][price_data][unit_amount]")
        if mode not in ("payment", "setup") or (mode == "payment" and not _digits(amount)):
            return problem(400, "mode and line_items are required", "mode")
        session = _Session(
            f"cs_dev_{secrets.token_urlsafe(12)}",
            mode,
            form.get("client_reference_id", ""),
            form.get("currency", "usd"),
            int(amount) if amount and _digits(amount) else None,
            form.get("success_url", ""),
            form.get("cancel_url", ""),
        )
        self.sessions[session.id] = session
        return JSONResponse(
            {"id": session.id, "object": "checkout.session", "url": f"{self.base}/pay/{session.id}"}
        )

    async def page(self, request: Request) -> Response:
        session = self.sessions.get(request.path_params["session"])
        if session is None:
            return _dev_page(404, "Unknown session", "")
        what = (
            f"{from_minor(session.amount, session.currency.upper())} {session.currency.upper()}"
            if session.amount
            else "new payment details"
        )
        return _dev_page(
            200,
            "Dev payment provider",
            (
                f"<p>No real money moves here. You are paying <strong>{escape(what)}</strong>.</p>"
                f'<form method="post"><button type="submit" class="primary">'
                f"{'Pay' if session.mode == 'payment' else 'Save details'}</button></form>"
                f'<p><a href="{escape(session.cancel_url)}">Cancel</a></p>'
            ),
        )

    async def pay(self, request: Request) -> Response:
        session = self.sessions.pop(request.path_params["session"], None)
        if session is None:
            return _dev_page(404, "Unknown session", "")
        event = json.dumps(
            {
                "id": f"evt_dev_{secrets.token_urlsafe(12)}",
                "object": "event",
                "type": "checkout.session.completed",
                "created": int(time.time()),
                "data": {
                    "object": {
                        "id": session.id,
                        "object": "checkout.session",
                        "mode": session.mode,
                        "client_reference_id": session.account_id,
                        "currency": session.currency,
                        "amount_total": session.amount,
                        "payment_status": "paid",
                        "payment_intent": f"pi_dev_{secrets.token_urlsafe(12)}"
                        if session.mode == "payment"
                        else None,
                    }
                },
            }
        ).encode()
        async with httpx.AsyncClient(timeout=15) as http:
            answer = await http.post(
                self.webhook,
                content=event,
                headers={
                    "Content-Type": "application/json",
                    "Stripe-Signature": signature_header(event, self.secret, int(time.time())),
                },
            )
        if answer.status_code >= 300:
            self.sessions[session.id] = session
            return _dev_page(502, "The webhook failed", f"<p>{answer.status_code}</p>")
        return RedirectResponse(session.success_url, status_code=303)


def _dev_page(status: int, title: str, body: str) -> HTMLResponse:
    page = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{escape(title)}</title><link rel="stylesheet" href="/static/portal.css">'
        f"</head><body><main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )
    return HTMLResponse(page, status_code=status)


def _digits(text: str | None) -> bool:
    return text is not None and text.isascii() and text.isdigit()
