"""The portal's routes: reading a link (rate limits, the live link, the session), the
identity check, a section's page and its form (by the table of sections and their
handlers), the way to the provider's page and the receipt after it, and rendering
(Starlette's `Jinja2Templates`, in the visitor's language)."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.templating import Jinja2Templates

from rapport.catalog.archive import StoreArchive
from rapport.client.journeys import JourneyError
from rapport.consent.book import ConsentBook
from rapport.contract.journey import JourneyStatus
from rapport.contract.metrics import PORTAL_ACTIONS, count
from rapport.contract.portal import BY_SLUG, section
from rapport.language.models import Policy
from rapport.payments.checkout import CheckoutUnavailable
from rapport.runtime.creditor import Creditor
from rapport.runtime.settings import origin as _origin
from rapport.security.compare import same
from rapport.security.links import RESPOND, TOKEN, LinkSigner, normalise_answer, well_formed
from rapport.store.database import StoreUnavailable
from rapport.store.links import Link, LinkBook, token_hash
from rapport.web.checkout import RECEIPT_SECONDS, HandOff
from rapport.web.guard import MAX_ACCOUNT_CHECKS, MAX_CHECKS, RateLimits, Sessions
from rapport.web.journeys import JourneyLink, Unavailable
from rapport.web.portal.sections import HANDLERS, Paid, last_paid
from rapport.web.portal.speech import Contact, Speech, browser_language
from rapport.web.portal.visit import Visit, account_reference
from rapport.web.shield import StaticFiles

log = logging.getLogger("rapport.portal")
HERE = Path(__file__).parent
SESSION_SECONDS = 1800
OUR_PATH = re.compile(r"(/[A-Za-z0-9_.-]+)+")


class Portal:
    def __init__(
        self,
        links: LinkBook,
        consent: ConsentBook,
        journeys: JourneyLink,
        hand_off: HandOff,
        signer: LinkSigner,
        creditor: Creditor,
        portal_url: str,
        limits: RateLimits,
        archive: StoreArchive | None = None,
        provider_origin: str = "",
    ) -> None:
        self.links, self.consent, self.journeys = links, consent, journeys
        self.archive, self._policies = archive, dict[str, Policy]()
        self.hand_off, self.sessions = hand_off, Sessions(signer)
        self.creditor, self.portal_url = creditor, portal_url.rstrip("/")
        self.limits = limits
        # the provider's hosted pages, where forms may lead (named in the CSP's form-action)
        self.provider_origin = provider_origin
        environment = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(default=True),
            extensions=["jinja2.ext.i18n"],
        )
        environment.newstyle_gettext = True  # type: ignore[attr-defined]
        self.templates = Jinja2Templates(env=environment)
        self._background: set[asyncio.Task[None]] = set()

    def routes(self) -> list[Route | Mount]:
        return [
            Route("/r/{token}", self.show, methods=["GET"]),
            Route("/r/{token}/check", self.check, methods=["POST"]),
            Route("/r/{token}/{section}", self.show, methods=["GET"]),
            Route("/r/{token}/{section}", self.act, methods=["POST"]),
            Route("/p/{reference}", self.receipt, methods=["GET"]),
            Route("/p/{reference}/cancel", self.receipt, methods=["GET"]),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ]

    # --- reading a link ------------------------------------------------------------------

    async def _visit(self, request: Request) -> Visit | Response:
        token = request.path_params["token"]
        chosen = chosen_language(request)
        try:
            allowed, link = await asyncio.to_thread(self._admitted, request, token)
        except StoreUnavailable:
            return self.plain_page(request, "message.html", stranger(request), 503)
        if not allowed:
            log.info("portal rate limited")
            count(PORTAL_ACTIONS, action="rate_limited")
            return self.plain_page(
                request, "message.html", stranger(request), 429, kind="slow_down"
            )
        if link is None:
            return self.plain_page(
                request, "message.html", stranger(request), 404, kind="not_found"
            )
        cookie = request.cookies.get(_cookie_name(token))
        # a link with no check (kept before checks existed, or sent where no address
        # could be asked for) never signs in: only what is open before the check
        signed_in = link.check_kind is not None and self.sessions.valid(
            token_hash(token), cookie, time.time()
        )
        visit = Visit(
            request,
            token,
            link,
            Speech.of(link.locale, chosen),
            signed_in,
            cookie if signed_in else None,
        )
        if not link.opened and (request.method == "POST" or _browser_opening(request)):
            self._in_background(self._opened(token, link))
        try:
            visit.status = await self.journeys.status(link.account_id)
        except Unavailable:
            return self.render(visit, "message.html", 503)
        if visit.status is not None:
            visit.policy = await self._policy(visit.status.journey_hash)
        return visit

    def _admitted(self, request: Request, token: str) -> tuple[bool, Link | None]:
        """(within the rate limits, the live link), in one trip to a thread: the link
        (looked up only for a token of the right form), then one count for the client's
        address and, for a live link only, the link (made-up tokens make no keys)."""
        link = self.links.find(token, RESPOND, datetime.now(UTC)) if TOKEN.match(token) else None
        return self.limits.allowed(request, token if link else None), link

    async def _policy(self, content_hash: str) -> Policy:
        """The journey's contact policy (for the times a person may call), from the store's
        pinned definitions; the law's window when it cannot be read."""
        if content_hash not in self._policies:
            journey = None
            if self.archive is not None and content_hash:
                try:
                    journey = await asyncio.to_thread(self.archive.load, content_hash)
                except (StoreUnavailable, SQLAlchemyError):
                    journey = None
            if journey is None:
                return Policy()
            self._policies[content_hash] = journey.definition.policy
        return self._policies[content_hash]

    async def _opened(self, token: str, link: Link) -> None:
        """A link opened is an engagement, once per message."""
        try:
            if await asyncio.to_thread(self.links.first_opening, token, datetime.now(UTC)):
                log.info("portal link opened", extra={"account_id": link.account_id})
                count(PORTAL_ACTIONS, action="opened")
                await self.journeys.signal(link.account_id, "engagement", {"kind": "clicked"})
        except (JourneyError, Unavailable, StoreUnavailable) as exc:
            log.info(
                "engagement not recorded: %s",
                type(exc).__name__,
                extra={"account_id": link.account_id},
            )

    def _in_background(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # --- a section's page, and its form ------------------------------------------------

    async def show(self, request: Request) -> Response:
        visit = await self._visit(request)
        if isinstance(visit, Response):
            return visit
        slug = request.path_params.get("section", "")
        row = section(slug)
        if row is None:
            return self.render(visit, "message.html", 404, kind="not_found")
        if not visit.signed_in and not row.open:
            return self._ask(visit, slug)
        return self.page(visit, slug)

    async def act(self, request: Request) -> Response:
        visit = await self._visit(request)
        if isinstance(visit, Response):
            return visit
        slug = request.path_params["section"]
        row, handler = section(slug), HANDLERS.get(slug)
        if row is None or handler is None:
            return self.render(visit, "message.html", 404, kind="not_found")
        if handler.act is None:  # a page without a form
            response = self.render(visit, "message.html", 405, kind="not_found")
            response.headers["Allow"] = "GET, HEAD"
            return response
        if not visit.signed_in and not row.open:
            return self._ask(visit, slug)
        form = {key: str(value) for key, value in (await request.form()).items()}
        if not self.sessions.csrf_ok(visit.digest, visit.cookie, form.get("csrf")):
            return self.render(visit, "message.html", 403, kind="expired_form")
        if handler.needs_journey and (visit.status is None or _ended(visit.status)):
            return self.page(visit, slug)
        log.info("portal %s", slug, extra={"account_id": visit.account, "action": slug})
        count(PORTAL_ACTIONS, action=slug)  # a slug of the table
        try:
            return await handler.act(self, visit, form)
        except CheckoutUnavailable as exc:
            log.warning("checkout not created: %s", exc, extra={"account_id": visit.account})
            return self.render(visit, "message.html", 503, kind="unavailable")
        except (Unavailable, StoreUnavailable):
            return self.render(visit, "message.html", 503, kind="unavailable")
        except JourneyError:
            return self.render(visit, "done.html", kind="ended")

    def page(self, visit: Visit, slug: str, status_code: int = 200, **extra: Any) -> Response:
        """A section's page (its row's template and what its handler shows), or what the
        journey's end leaves to say."""
        row, handler, status = BY_SLUG[slug], HANDLERS[slug], visit.status
        if handler.needs_journey and (status is None or _ended(status)):
            paid = status is not None and status.outcome == "paid"
            kind = "paid" if slug == "thanks" or paid else (status.outcome if status else None)
            return self.render(
                visit, "done.html", status_code, kind=kind or "ended", paid=last_paid(visit)
            )
        shown = handler.shows(visit)
        if shown is None:  # not offered now: every option there is
            return self.page(visit, "", status_code)
        return self.render(visit, row.template, status_code, **{**shown, **extra})

    # --- rendering -------------------------------------------------------------------------

    def render(self, visit: Visit, template: str, status_code: int = 200, **extra: Any) -> Response:
        """A page for a visit: nothing about the account before the identity check; after
        it, the journey's status and the account's reference (and every page's contact
        details)."""
        signed_in = visit.signed_in
        context: dict[str, Any] = {
            "base": visit.base,
            "signed_in": signed_in,
            "status": visit.status if signed_in else None,
            "account": account_reference(visit.account) if signed_in else None,
            "check_kind": visit.link.check_kind,
            "channel": visit.link.channel,
            "csrf": self.sessions.csrf(visit.digest, visit.cookie),
            "checks_left": _checks_left(visit.link),
        }
        response = self.plain_page(
            visit.request, template, visit.speech, status_code, **context, **extra
        )
        chosen = visit.request.query_params.get("lang")
        if chosen and visit.speech.language == chosen:
            response.set_cookie(
                "rapport_lang",
                visit.speech.language,
                max_age=86400 * 365,
                httponly=True,
                samesite="lax",
                secure=_secure(visit.request),
            )
        return response

    def plain_page(
        self,
        request: Request,
        template: str,
        speech: Speech,
        status_code: int = 200,
        **context: Any,
    ) -> Response:
        """A page with the creditor's header and nothing of any account: before a link
        is read, for a refusal, and for the email unsubscribe pages (`/u/`)."""
        path = request.url.path.removesuffix("/check")
        # the language links' path, only when plainly one of ours: a refused request's
        # path such as //evil.example or /%5Cevil.example would make them another site's
        path = path if status_code != 404 and OUR_PATH.fullmatch(path) else ""
        return self.templates.TemplateResponse(
            request,
            template,
            {
                "creditor": self.creditor.name,
                "contact": Contact.of(self.creditor, speech),
                "path": path,
                **speech.context(),
                **context,
            },
            status_code=status_code,
        )

    def refusal(self, request: Request, status_code: int) -> Response:
        """The page for a request refused before any handler: no such page (404), a
        method it does not take (405), a body too large (413)."""
        kind = "not_found" if status_code in (404, 405) else "unavailable"
        speech = stranger(request)
        return self.plain_page(request, "message.html", speech, status_code, kind=kind)

    # --- the identity check ------------------------------------------------------------

    def _ask(self, visit: Visit, slug: str) -> Response:
        """The identity check for a page that needs it; the lock page (whom to call)
        straight away when no try is left, rather than a form that cannot work."""
        if visit.link.check_kind is not None and _checks_left(visit.link) <= 0:
            return self.render(visit, "message.html", 403, kind="locked")
        return self.render(visit, "check.html", next=slug)

    async def check(self, request: Request) -> Response:
        visit = await self._visit(request)
        if isinstance(visit, Response):
            return visit
        form = await request.form()
        if not self.sessions.csrf_ok(visit.digest, visit.cookie, form.get("csrf")):
            return self.render(visit, "message.html", 403, kind="expired_form")
        following = str(form.get("next", ""))
        following = following if section(following) is not None else ""
        link = visit.link
        if link.check_kind is None or visit.signed_in:
            return _see_other(f"{visit.base}/{following}".rstrip("/"))
        answer = normalise_answer(link.check_kind, str(form.get("answer", "")))
        if not well_formed(link.check_kind, answer):  # cannot be right: asked again, no try
            return self.render(visit, "check.html", 422, next=following, malformed=True)
        try:  # the try is taken before the answer is compared: none left, none compared
            tried = await asyncio.to_thread(
                self.links.try_check, visit.token, MAX_CHECKS, MAX_ACCOUNT_CHECKS
            )
        except StoreUnavailable:
            return self.render(visit, "message.html", 503, kind="unavailable")
        if tried is None:
            log.info("portal check locked", extra={"account_id": link.account_id})
            count(PORTAL_ACTIONS, action="check_locked")
            return self.render(visit, "message.html", 403, kind="locked")
        expected = link.check_hash or ""
        if not same(self.sessions.signer.check_hash(link.check_kind, answer), expected):
            log.info("portal check failed", extra={"account_id": link.account_id})
            count(PORTAL_ACTIONS, action="check_failed")
            visit.link = replace(
                link, failed_checks=tried, account_failed_checks=link.account_failed_checks + 1
            )
            if _checks_left(visit.link) <= 0:
                return self.render(visit, "message.html", 403, kind="locked")
            return self.render(visit, "check.html", 422, next=following, wrong=True)
        await asyncio.to_thread(self.links.check_passed, visit.token)
        log.info("portal check passed", extra={"account_id": link.account_id})
        count(PORTAL_ACTIONS, action="check_passed")
        response = _see_other(f"{visit.base}/{following}".rstrip("/"))
        response.set_cookie(
            _cookie_name(visit.token),
            self.sessions.cookie(visit.digest, time.time()),
            max_age=SESSION_SECONDS,
            path=visit.base,
            httponly=True,
            samesite="lax",
            secure=_secure(request),
        )
        return response

    def session_cookie(self, token: str) -> str:
        """The name of a link's session cookie (scoped to the link's path)."""
        return _cookie_name(token)

    # --- the provider's page, and the receipt after it ---------------------------------

    async def to_provider(
        self,
        visit: Visit,
        status: JourneyStatus,
        mode: Literal["payment", "setup"],
        amount: Decimal | None = None,
    ) -> Response:
        """To the provider's hosted page: a 303 when the page's CSP lets the form lead
        there, else a page with a plain link (a misconfigured origin still works)."""
        started = await self.hand_off.start(
            visit.digest,
            visit.account,
            mode,
            status.currency,
            amount,
            str(visit.speech.locale).replace("_", "-"),
            status.timezone,
        )
        target = _origin(started.url)
        if target in ("", _origin(self.portal_url), self.provider_origin):
            response: Response = _see_other(started.url)
        else:
            log.warning("the provider's page is not in form-action: set RAPPORT_PAYMENT_PAGE_URL")
            response = self.render(visit, "handoff.html", url=started.url)
        name, value, path = started.cookie
        response.set_cookie(
            name,
            value,
            max_age=RECEIPT_SECONDS,
            path=path,
            httponly=True,
            samesite="lax",
            secure=_secure(visit.request),
        )
        return response

    async def receipt(self, request: Request) -> Response:
        """The page after the provider (`/p/{reference}`, or `.../cancel` when the customer
        left it): what was paid, when, and its reference; only to the browser that paid
        (it passed the identity check to get there), with the account's reference and
        the creditor's contact details like every page after the check."""
        reference = request.path_params["reference"]
        chosen = chosen_language(request)
        try:
            found = await self.hand_off.receipt(reference, dict(request.cookies))
        except StoreUnavailable:
            return self.plain_page(request, "message.html", stranger(request), 503)
        if found is None:
            return self.plain_page(
                request, "message.html", stranger(request), 404, kind="not_found"
            )
        checkout = found.checkout
        speech = Speech.of(checkout.locale, chosen)
        context: dict[str, Any] = {
            "receipt": found,
            "signed_in": True,
            "account": account_reference(checkout.account_id),
        }
        if request.url.path.endswith("/cancel") and found.state == "waiting":
            # left the provider's page: nothing charged, unless this checkout was paid
            # meanwhile (another tab on the same session): then the receipt below
            return self.plain_page(request, "receipt.html", speech, kind="cancelled", **context)
        paid_on = found.payment.received_at if found.payment else checkout.created_at
        zone = ZoneInfo(checkout.timezone or "UTC")
        paid = Paid(
            found.amount,
            checkout.currency,
            paid_on.astimezone(zone).date(),
            found.payment.payment_id if found.payment else None,
        )
        return self.plain_page(
            request, "receipt.html", speech, kind=found.state, paid=paid, **context
        )


def stranger(request: Request) -> Speech:
    """How to speak before (or without) a link that names the account's language: the
    language the visitor picked, else their browser's (an expired link opened by a
    customer who reads Spanish is answered in Spanish)."""
    browser = browser_language(request.headers.get("Accept-Language", ""))
    return Speech.of(browser, chosen_language(request))


def chosen_language(request: Request) -> str | None:
    """The language the visitor picked (`?lang=`, then the cookie it set)."""
    return request.query_params.get("lang") or request.cookies.get("rapport_lang")


def _checks_left(link: Link) -> int:
    """The tries left on this link: its own five, or fewer once the account's links
    together near their ten."""
    return min(MAX_CHECKS - link.failed_checks, MAX_ACCOUNT_CHECKS - link.account_failed_checks)


def _ended(status: JourneyStatus) -> bool:
    """Nothing more to choose: paid, a plan accepted, ceased or finished."""
    return status.outcome is not None or status.state == "finished"


def _cookie_name(token: str) -> str:
    return f"rp_{token_hash(token)[:12]}"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _browser_opening(request: Request) -> bool:
    """A person's browser opening the page (not HEAD, not a link previewer or scanner
    fetching it, not a prefetch): what counts as a click."""
    headers = request.headers
    return (
        request.method == "GET"
        and headers.get("sec-fetch-mode") == "navigate"
        and headers.get("sec-fetch-dest") == "document"
        and "prefetch" not in headers.get("sec-purpose", "") + headers.get("purpose", "")
    )


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url or "/", status_code=303)
