"""The one web app (`journey web`; `make run` starts it beside the worker): the portal
(`/r/{token}`), the intake API (`/v1/...`, `/openapi.json`), the payment provider's
webhook (and the dev stand-in provider), the emails' one-click unsubscribe, the inbound
SMS webhooks, the codec endpoints the Temporal UI uses to show decrypted payloads, and a
health check. One process type: run as many as needed behind any load balancer (state
lives in the store and in Temporal, rate limits, identity-check tries and idempotency keys
too; only the dev provider's sessions are per process).

Every request passes `rapport.web.shield` first: a Host not ours is refused (400, a
problem document or the portal's page), a
body over its path's limit is refused unread (413), and every response carries the
security headers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from temporalio.client import Client

from rapport.catalog.archive import StoreArchive
from rapport.consent.book import ConsentBook
from rapport.intake.keys import KeyCheck
from rapport.intake.service import Intake
from rapport.payments.checkout import Checkout
from rapport.runtime.settings import LOOPBACK, Settings, origin
from rapport.runtime.workers import billing_from_settings
from rapport.security.codec import EncryptionCodec
from rapport.store.checkouts import CheckoutBook
from rapport.store.database import Store
from rapport.store.intake import ApiKeys, IdempotencyKeys
from rapport.store.limits import RateCounts
from rapport.store.links import LinkBook
from rapport.store.payments import PaymentLedger
from rapport.store.recipients import RecipientIndex
from rapport.web.api import IntakeApi
from rapport.web.checkout import HandOff
from rapport.web.codec import CodecEndpoints
from rapport.web.guard import Allowances, RateLimits, headers
from rapport.web.inbound import InboundSms
from rapport.web.journeys import JourneyLink
from rapport.web.payments import DevProvider, PaymentWebhook
from rapport.web.portal import Portal
from rapport.web.shield import BodyLimit, OurHosts, Refusals, SecurityHeaders, handlers
from rapport.web.strikes import Strikes
from rapport.web.unsubscribe import Unsubscribe

log = logging.getLogger(__name__)
KIB = 1024
# The largest body each path takes; anything larger is refused before it is read.
BODY_LIMITS = (
    ("/webhooks/", 64 * KIB),  # a provider's event
    ("/sms/", 64 * KIB),
    ("/codec/", 4096 * KIB),  # a page of a history's payloads (Temporal's own limit: 4 MiB)
)
FORM_LIMIT = 16 * KIB  # the portal's forms, unsubscribe, everything else
# A stop waits this long for the requests in flight (each waits 10 s at most for Temporal
# and 5 s for the store), then closes what is left.
STOP_SECONDS = 30


def create_app(settings: Settings, client: Client | None = None, warm: bool = False) -> Starlette:
    """The app; `client` is the worker's own when it serves the app in-process, else one
    is connected on first use (`warm`: as the app starts, in the background, with the
    journeys folder read: `journey web`, so a deploy's first requests wait for
    neither)."""
    ring = settings.key_ring()
    codec = CodecEndpoints(
        EncryptionCodec(ring) if ring else None,
        settings.codec_token.get_secret_value() if settings.codec_token else None,
        ui_origins(settings),
        loopback_without_token=settings.environment == "development",
    )
    sealer = settings.address_sealer()
    store = Store(settings.store_url())
    store.ready(sealer)
    links, consent = LinkBook(store, sealer), ConsentBook(store)
    limits = RateLimits(
        RateCounts(store),
        settings.signer(),
        settings.portal_requests_per_token,
        settings.portal_requests_per_address,
    )
    journeys = JourneyLink(settings, client)
    checkout = Checkout(settings.payment_api(), settings.payment_api_key.get_secret_value())
    ledger, checkouts = PaymentLedger(store), CheckoutBook(store)
    # the provider's hosted pages, where the portal's forms lead (browsers apply the CSP's
    # form-action to the redirect after a POST): none to name when they are our own
    pages = settings.payment_pages()
    pages = "" if pages == origin(settings.portal_url) else pages
    portal = Portal(
        links,
        consent,
        journeys,
        HandOff(checkout, checkouts, ledger, settings.signer(), settings.portal_url),
        settings.signer(),
        settings.creditor(),
        settings.portal_url,
        limits,
        StoreArchive(store),
        provider_origin=pages,
    )
    webhook = PaymentWebhook(
        settings.payment_webhook_secret.get_secret_value(),
        ledger,
        checkouts,
        journeys,
        billing_from_settings(settings, store),
        checkout,
    )
    intake = IntakeApi(
        Intake(journeys.journeys, consent, settings.journeys_dir),
        KeyCheck(ApiKeys(store)),
        IdempotencyKeys(store),
        Allowances(limits.counts, settings.signer()),
        settings.api_requests_per_key,
        Strikes(settings.api_failed_auth_per_address),
    )
    routes = [
        Route("/health", health),
        *intake.routes(),
        *codec.routes(),
        *Unsubscribe(links, consent, limits, portal.plain_page).routes(),
        *portal.routes(),
        *webhook.routes(),
        *inbound_routes(settings, store, journeys),
    ]
    if settings.payment_provider == "dev":
        base = settings.portal_url.rstrip("/")
        routes += DevProvider(
            f"{base}/dev-provider",
            f"{base}/webhooks/payments",
            settings.payment_api_key.get_secret_value(),
            settings.payment_webhook_secret.get_secret_value(),
        ).routes()
    refusals = Refusals(portal.refusal)
    middleware = [
        Middleware(
            SecurityHeaders,
            headers=headers(pages),
            https=settings.portal_url.startswith("https:"),
        ),
        Middleware(OurHosts, allowed_hosts=allowed_hosts(settings), refuse=refusals.answer),
        Middleware(
            BodyLimit,
            limits=(("/v1/", settings.api_body_bytes), *BODY_LIMITS),
            default=FORM_LIMIT,
            refuse=refusals.answer,
        ),
    ]
    return Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers=handlers(refusals),
        lifespan=warming(intake.intake) if warm else None,
    )


def warming(intake: Intake) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """A lifespan that warms the intake in the background while the app serves, then
    moves what the process holds by then (its code, the journeys, the client) out of the
    garbage collector's way (`gc.freeze`): a full collection walked all of it, about
    80 ms in which every request in flight waited (a p99 of the API), and now walks what
    requests made since."""

    async def warm() -> None:
        await intake.warm()
        gc.collect()
        gc.freeze()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.get_running_loop().create_task(warm())
        try:
            yield
        finally:
            task.cancel()

    return lifespan


def allowed_hosts(settings: Settings) -> list[str]:
    """The Host names the app answers: the public URL's (and the SMS webhooks'), those
    in RAPPORT_ALLOWED_HOSTS, and loopback's. Any other is refused with 400, so a page
    on another site whose name points at this machine (DNS rebinding) reads nothing."""
    named = [settings.portal_url, settings.inbound_public_url or ""]
    hosts = [urlsplit(url).hostname or "" for url in named]
    hosts += [host.strip() for host in settings.allowed_hosts.split(",")]
    return sorted({host for host in (*hosts, *LOOPBACK) if host})


def inbound_routes(settings: Settings, store: Store, journeys: JourneyLink) -> list[Route]:
    """The SMS provider's webhooks, when its auth token is set (they are signed with it)."""
    if settings.twilio_auth_token is None:
        return []
    public = settings.inbound_public_url or settings.portal_url
    return InboundSms(
        journeys,
        RecipientIndex(store),
        settings.twilio_auth_token.get_secret_value(),
        public,
        ConsentBook(store),
        settings.sms_help_contact,
        settings.creditor(),
    ).routes()


def ui_origins(settings: Settings) -> list[str]:
    """The Temporal UI's origins that may call the codec from a browser."""
    host = settings.temporal_address.rpartition(":")[0] or "127.0.0.1"
    port = settings.dev_ui_port
    return [f"http://{name}:{port}" for name in {host, "localhost", "127.0.0.1"}]


async def health(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def bind_address(settings: Settings) -> tuple[str, int]:
    """Where to listen by default: the host and port of RAPPORT_PORTAL_URL, on loopback."""
    url = urlsplit(settings.portal_url)
    return "127.0.0.1", url.port or (443 if url.scheme == "https" else 80)


class EmbeddedServer(uvicorn.Server):
    """Leaves signals to the process that runs it (the worker stops gracefully on them)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class WebServer:
    server: uvicorn.Server
    task: asyncio.Task[None]
    address: str

    async def stop(self) -> None:
        self.server.should_exit = True
        await self.task


async def serve_web(
    settings: Settings,
    host: str | None = None,
    port: int | None = None,
    client: Client | None = None,
    warm: bool = False,
) -> WebServer:
    """Start serving in this event loop, beside whatever else runs in it (the worker)."""
    default_host, default_port = bind_address(settings)
    return await serve_asgi(
        create_app(settings, client, warm),
        host or default_host,
        port or default_port,
        settings.forwarded_allow_ips,
    )


async def serve_asgi(
    app: Any, host: str, port: int, forwarded_allow_ips: str = "127.0.0.1"
) -> WebServer:
    """Serve any ASGI app under uvicorn in this event loop (benchmarks use it too).
    Behind a TLS proxy, `forwarded_allow_ips` names the proxies whose X-Forwarded-For and
    X-Forwarded-Proto uvicorn believes (RAPPORT_FORWARDED_ALLOW_IPS)."""
    server = EmbeddedServer(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            server_header=False,  # no "server: uvicorn" for an attacker to look up
            proxy_headers=True,
            forwarded_allow_ips=forwarded_allow_ips,
            timeout_graceful_shutdown=STOP_SECONDS,
        )
    )
    task = asyncio.get_running_loop().create_task(server.serve())
    while not server.started and not task.done():  # noqa: ASYNC110  (uvicorn sets a flag, no event)
        await asyncio.sleep(0.02)
    if task.done():
        task.result()
        raise OSError(f"the web app could not listen on {host}:{port}")
    return WebServer(server, task, f"http://{host}:{port}")
