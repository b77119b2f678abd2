"""`POST /webhooks/payments`: the payment provider's signed webhook, in Stripe's format
and signature (so a real Stripe account works by configuration); and `DevProvider`, a
stand-in for Stripe Checkout that speaks the same wire format over HTTP: it creates
checkout sessions, shows a hosted page with a Pay button, reads back a setup's payment
method, and calls the webhook signed as a real provider would. `journey web` serves it
under `/dev-provider/` with `RAPPORT_PAYMENT_PROVIDER=dev`; the tests serve its API and
its hosted pages on two other loopback ports, as Stripe's are on two other origins.

An event is taken in this order: the ledger first (committed), then the account's
journey is told what counts (`rapport.payments.desk`), then the event id is marked
taken. A failure on the way answers 503 and marks nothing, so the provider's retry
does the rest (the ledger and the journey recognise what they already have). A bad
signature gets 400 and changes nothing; a repeated event id changes nothing.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from html import escape
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from rapport.billing.sources import BalanceSource, BillingUnavailable
from rapport.client.journeys import JourneyError
from rapport.contract.metrics import PAYMENTS, count
from rapport.money import from_minor
from rapport.payments.checkout import Checkout, CheckoutUnavailable
from rapport.payments.desk import MoneyDesk
from rapport.payments.events import (
    BadEvent,
    MoneyChange,
    NewDetails,
    Subject,
    read_event,
    read_intent,
    signature_header,
    subject,
    verified,
)
from rapport.payments.limits import provider_exponent
from rapport.security.compare import same
from rapport.store.checkouts import Checkout as CheckoutRecord
from rapport.store.checkouts import CheckoutBook
from rapport.store.database import StoreUnavailable
from rapport.store.payments import MoneyEvent, PaymentConflict, PaymentLedger
from rapport.web.guard import headers
from rapport.web.journeys import JourneyLink, Unavailable
from rapport.web.problems import problem

log = logging.getLogger("rapport.payments")
STATIC = Path(__file__).parent / "portal" / "static"  # the portal's stylesheet


@dataclass(frozen=True)
class PaymentWebhook:
    secret: str
    ledger: PaymentLedger
    checkouts: CheckoutBook
    journeys: JourneyLink
    billing: BalanceSource
    provider: Checkout

    def routes(self) -> list[Route]:
        return [Route("/webhooks/payments", self.receive, methods=["POST"])]

    async def receive(self, request: Request) -> Response:
        body = await request.body()
        try:
            event = verified(
                body, request.headers.get("Stripe-Signature", ""), self.secret, time.time()
            )
        except BadEvent as exc:
            return _refused(exc)
        about = subject(event)
        if about is None:
            count(PAYMENTS, status="ignored")
            return JSONResponse({"received": True, "ignored": str(event.get("type"))})
        try:
            if await asyncio.to_thread(self.ledger.event_taken, event["id"]):
                log.info("payment event repeated", extra={"event": event["id"]})
                count(PAYMENTS, status="duplicate")
                return JSONResponse({"received": True, "duplicate": True})
            owner = await self._owner(about)
            if owner is None:
                log.info("payment event not Rapport's", extra={"event": event["id"]})
                count(PAYMENTS, status="ignored")
                return JSONResponse(
                    {"received": True, "ignored": str(event.get("type")), "ours": False}
                )
            meaning = read_event(event)
            if isinstance(meaning, MoneyChange):
                status = await self._money(meaning, owner)
            elif isinstance(meaning, NewDetails):
                status = await self._details(meaning, owner)
            else:
                count(PAYMENTS, status="ignored")
                return JSONResponse({"received": True, "ignored": meaning.type})
            await asyncio.to_thread(
                self.ledger.take_event, meaning.event_id, owner.account_id, datetime.now(UTC)
            )
            count(PAYMENTS, status=status)
        except BadEvent as exc:
            return _refused(exc)
        except (StoreUnavailable, SQLAlchemyError) as exc:
            log.warning("payment event not recorded: %s", type(exc).__name__)
            count(PAYMENTS, status="unavailable")
            return problem(503, "the event could not be recorded; send it again")
        except (Unavailable, BillingUnavailable, CheckoutUnavailable) as exc:
            log.warning("payment event recorded, not yet passed on: %s", type(exc).__name__)
            count(PAYMENTS, status="unavailable")
            return problem(503, "the event is recorded but not yet passed on; send it again")
        except NotYet as exc:
            count(PAYMENTS, status="unavailable")
            return problem(503, str(exc), "data.object.payment_intent")
        except PaymentConflict as exc:
            log.error("payment event conflicts with the ledger: %s", exc)
            count(PAYMENTS, status="refused")
            return problem(409, str(exc), "data.object.payment_intent")
        return JSONResponse({"received": True})

    async def _owner(self, about: Subject) -> Owner | None:
        """Whose money the event is, if it is Rapport's at all (a Stripe account may sell
        other things too): a session's checkout, opened by the portal; a payment in the
        ledger or, before its checkout's completion has arrived (the provider does not
        promise order), one the provider's own record ties to a checkout the portal
        opened. None: another product's, acknowledged and ignored."""
        if about.kind == "session":
            checkout = await asyncio.to_thread(self.checkouts.by_session, about.id)
            return Owner(checkout.account_id, None, checkout) if checkout else None
        known = await asyncio.to_thread(self.ledger.find, about.id)
        if known is not None:
            return Owner(known.account_id, known.amount)
        found = await self.provider.payment_intent(about.id)
        try:
            intent = read_intent(found) if found is not None else None
        except BadEvent as exc:
            raise CheckoutUnavailable(f"the provider's payment is unreadable: {exc}") from None
        if intent is None or intent.reference is None:
            return None
        checkout = await asyncio.to_thread(self.checkouts.find, intent.reference)
        if checkout is None or checkout.mode != "payment":
            return None
        return Owner(checkout.account_id, intent.amount)

    async def _money(self, change: MoneyChange, owner: Owner) -> str:
        """Into the ledger, then to the journey; the metric's status."""
        if owner.checkout is not None and (
            owner.checkout.mode != "payment" or change.account_id != owner.account_id
        ):
            raise PaymentConflict(f"session {change.session_id} was made for another account")
        amount = change.amount if change.amount is not None else owner.amount
        assert amount is not None  # a session's is in the event, a payment's in the owner
        if change.reinstates is not None:  # never more than the dispute took
            disputed = await asyncio.to_thread(self.ledger.find, change.reinstates)
            if disputed is None or disputed.status != "disputed":
                raise NotYet("the dispute it closes is not in the ledger yet; send it again")
            amount = min(amount, disputed.reversed)
        now = datetime.now(UTC)
        payment = await asyncio.to_thread(
            self.ledger.take,
            MoneyEvent(
                change.payment_id,
                owner.account_id,
                amount,
                change.currency,
                "provider",
                now,
                paid=change.paid,
                failed=change.failed,
                refunded=change.refunded,
                disputed=change.disputed,
                reference=change.reference,
            ),
        )
        if change.session_id is not None:
            await asyncio.to_thread(
                self.checkouts.completed, change.session_id, change.payment_id, now
            )
        payment = await MoneyDesk(self.ledger, self.journeys).tell(payment)
        return "taken" if payment.unapplied == 0 else "not_running"

    async def _details(self, details: NewDetails, owner: Owner) -> str:
        """New payment details: their reference kept, billing told, the journey told."""
        if owner.checkout is None or owner.checkout.mode != "setup":
            raise PaymentConflict(f"session {details.session_id} was not made for new details")
        if details.account_id != owner.account_id:
            raise PaymentConflict(f"session {details.session_id} was made for another account")
        saved = await self.provider.saved_method(details.setup_intent)
        now = datetime.now(UTC)
        await asyncio.to_thread(
            self.checkouts.record_method,
            saved.payment_method,
            details.account_id,
            saved.customer,
            now,
        )
        await self.billing.payment_details_updated(
            details.account_id, saved.payment_method, saved.customer
        )
        with contextlib.suppress(JourneyError):  # none running: the store and billing have it
            await self.journeys.signal(
                details.account_id, "payment_details_updated", {"reference": saved.payment_method}
            )
        await asyncio.to_thread(self.checkouts.completed, details.session_id, None, now)
        log.info("payment details updated", extra={"account_id": details.account_id})
        return "setup"


class NotYet(Exception):
    """What the event builds on has not arrived yet: 503, the provider sends it again."""


@dataclass(frozen=True)
class Owner:
    """Whose money an event is: the account and, for a payment, its amount (for a
    session: the checkout the portal opened for it)."""

    account_id: str
    amount: Decimal | None
    checkout: CheckoutRecord | None = None


def _refused(exc: BadEvent) -> Response:
    log.warning("payment webhook refused: %s", exc)
    count(PAYMENTS, status="refused")
    return problem(400, str(exc), exc.field)


@dataclass
class _Session:
    id: str
    mode: str
    account_id: str
    currency: str
    amount: int | None
    success_url: str
    cancel_url: str
    metadata: dict[str, str]
    idempotency_key: str
    expires_at: int
    payment_metadata: dict[str, str]  # what its payment (a PaymentIntent) is given
    event: bytes | None = None  # once made, sent again as it is (as a provider retries)


class DevProvider:
    """A stand-in for Stripe Checkout, for development and tests: sessions live in this
    process's memory, and no money moves. Its API (`api_routes`) and its hosted pages
    (`page_routes`) may be served by the web app itself (under `/dev-provider`) or on
    ports of their own (prefix ""); `pages_url` is where the pages are, prefix included."""

    def __init__(self, pages_url: str, webhook_url: str, api_key: str, webhook_secret: str) -> None:
        self.pages_url = pages_url.rstrip("/")
        self.webhook = webhook_url
        self.api_key, self.secret = api_key, webhook_secret
        self.sessions: dict[str, _Session] = {}
        self.setup_intents: dict[str, dict[str, str]] = {}
        self.payment_intents: dict[str, dict[str, object]] = {}
        self.created = 0  # sessions made (not counting idempotent repeats)

    def api_routes(self, prefix: str = "/dev-provider") -> list[Route]:
        return [
            Route(f"{prefix}/v1/checkout/sessions", self.create, methods=["POST"]),
            Route(f"{prefix}/v1/setup_intents/{{intent}}", self.setup_intent, methods=["GET"]),
            Route(f"{prefix}/v1/payment_intents/{{intent}}", self.payment_intent, methods=["GET"]),
        ]

    def page_routes(self, prefix: str = "/dev-provider") -> list[Route | Mount]:
        routes: list[Route | Mount] = [
            Route(f"{prefix}/pay/{{session}}", self.page, methods=["GET"]),
            Route(f"{prefix}/pay/{{session}}", self.pay, methods=["POST"]),
        ]
        if prefix == "":  # on its own: its own copy of the stylesheet
            routes.append(Mount("/static", StaticFiles(directory=STATIC)))
        return routes

    def routes(self) -> list[Route | Mount]:
        return [*self.api_routes(), *self.page_routes()]

    def _authorised(self, request: Request) -> bool:
        expected = "Basic " + base64.b64encode(f"{self.api_key}:".encode()).decode()
        return same(request.headers.get("Authorization"), expected)

    async def create(self, request: Request) -> Response:
        if not self._authorised(request):
            return problem(401, "the API key is wrong", "Authorization")
        form = {k: str(v) for k, v in (await request.form()).items()}
        key = request.headers.get("Idempotency-Key", "")
        for known in self.sessions.values():
            if key and known.idempotency_key == key:  # a retried request: the same session
                return self._session_json(known)
        mode = form.get("mode", "")
        amount = form.get("line_items[0][price_data][unit_amount]")
        if mode not in ("payment", "setup") or (mode == "payment" and not _digits(amount)):
            return problem(400, "mode and line_items are required", "mode")
        expires = form.get("expires_at", "")
        if not _digits(expires) or int(expires) < time.time() + 30 * 60:
            return problem(400, "expires_at must be at least 30 minutes away", "expires_at")
        session = _Session(
            f"cs_dev_{secrets.token_urlsafe(12)}",
            mode,
            form.get("client_reference_id", ""),
            form.get("currency", "usd"),
            int(amount) if amount and _digits(amount) else None,
            form.get("success_url", ""),
            form.get("cancel_url", ""),
            _bracketed(form, "metadata["),
            key,
            int(expires),
            _bracketed(form, "payment_intent_data[metadata]["),
        )
        self.sessions[session.id] = session
        self.created += 1
        return self._session_json(session)

    def _session_json(self, session: _Session) -> JSONResponse:
        return JSONResponse(
            {
                "id": session.id,
                "object": "checkout.session",
                "url": f"{self.pages_url}/pay/{session.id}",
                "expires_at": session.expires_at,
            }
        )

    async def setup_intent(self, request: Request) -> Response:
        if not self._authorised(request):
            return problem(401, "the API key is wrong", "Authorization")
        intent = self.setup_intents.get(request.path_params["intent"])
        if intent is None:
            return problem(404, "no such setup intent", "intent")
        return JSONResponse(intent)

    async def payment_intent(self, request: Request) -> Response:
        if not self._authorised(request):
            return problem(401, "the API key is wrong", "Authorization")
        intent = self.payment_intents.get(request.path_params["intent"])
        if intent is None:
            return problem(404, "no such payment intent", "intent")
        return JSONResponse(intent)

    async def page(self, request: Request) -> Response:
        session = self.sessions.get(request.path_params["session"])
        if session is None or session.expires_at < time.time():
            return _dev_page(404, "Unknown session", "", "")
        what = (
            f"{from_minor(session.amount, session.currency.upper(), _exponent(session))} "
            f"{session.currency.upper()}"
            if session.amount
            else "new payment details"
        )
        button = "Pay" if session.mode == "payment" else "Save details"
        return _dev_page(
            200,
            "Dev payment provider",
            (
                f"<p>No real money moves here. You are paying <strong>{escape(what)}</strong>.</p>"
                f'<form method="post"><button type="submit" class="primary">{button}</button>'
                f'</form><p><a href="{escape(session.cancel_url)}">Cancel</a></p>'
            ),
            _origin(session.success_url),
        )

    async def pay(self, request: Request) -> Response:
        session = self.sessions.pop(request.path_params["session"], None)
        if session is None or session.expires_at < time.time():
            return _dev_page(404, "Unknown session", "", "")
        event = session.event or json.dumps(self.completed_event(session)).encode()
        session.event = event
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
            return _dev_page(502, "The webhook failed", f"<p>{answer.status_code}</p>", "")
        return RedirectResponse(session.success_url, status_code=303)

    def completed_event(self, session: _Session) -> dict[str, object]:
        """`checkout.session.completed` as Stripe sends it for this session, paid."""
        setup, payment = None, None
        if session.mode == "payment":
            payment = f"pi_dev_{secrets.token_urlsafe(12)}"
            self.payment_intents[payment] = {
                "id": payment,
                "object": "payment_intent",
                "amount": session.amount,
                "currency": session.currency,
                "metadata": session.payment_metadata,
                "status": "succeeded",
            }
        if session.mode == "setup":
            setup = f"seti_dev_{secrets.token_urlsafe(12)}"
            self.setup_intents[setup] = {
                "id": setup,
                "object": "setup_intent",
                "payment_method": f"pm_dev_{secrets.token_urlsafe(12)}",
                "customer": f"cus_dev_{secrets.token_urlsafe(8)}",
                "status": "succeeded",
            }
        return {
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
                    "payment_status": "paid"
                    if session.mode == "payment"
                    else "no_payment_required",
                    "payment_intent": payment,
                    "setup_intent": setup,
                    "metadata": session.metadata,
                }
            },
        }


def _exponent(session: _Session) -> int:
    return provider_exponent(session.currency.upper())


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _dev_page(status: int, title: str, body: str, returns_to: str) -> HTMLResponse:
    """The stand-in's page; its form may lead back to the portal (`returns_to`: browsers
    apply `form-action` to the redirect after the POST)."""
    page = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{escape(title)}</title><link rel="stylesheet" href="/static/portal.css">'
        f"</head><body><main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )
    return HTMLResponse(page, status_code=status, headers=headers(returns_to))


def _bracketed(form: dict[str, str], prefix: str) -> dict[str, str]:
    """`{"a": "1"}` of a form's `prefix` fields (`metadata[a]=1`)."""
    return {
        k[len(prefix) : -1]: v for k, v in form.items() if k.startswith(prefix) and k[-1] == "]"
    }


def _digits(text: str | None) -> bool:
    return text is not None and text.isascii() and text.isdigit()
