"""The portal: where a message's link `/r/{token}` lands, with every option the journey
allows now. Plain HTML forms (no JavaScript), mobile first, English or Spanish.

A page shows only the creditor's name and the amount due until the customer passes a
light check (the last four digits of the number we texted, or the email address we
wrote to; five tries per link, taken in the store before an answer is compared); then
a session cookie, scoped to that link, lasts 30 minutes. Only a browser's GET (or the
first form sent) counts as the customer opening the link: HEAD and link previewers
change nothing. Every form carries a CSRF token bound to the link and the session; every
action is one log line (account id and action, never personal data).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route

from rapport.catalog.archive import StoreArchive
from rapport.client.journeys import JourneyError
from rapport.consent.book import ALL, Action, ConsentBook
from rapport.contract.journey import JourneyStatus
from rapport.contract.metrics import PORTAL_ACTIONS, count
from rapport.language.models import Policy
from rapport.language.types import WEEKDAYS
from rapport.money import BadAmount, read_typed, unit
from rapport.payments.checkout import CheckoutUnavailable
from rapport.payments.limits import minimum_charge, uncharged
from rapport.runtime.settings import origin as _origin
from rapport.security.compare import same
from rapport.security.links import RESPOND, TOKEN, LinkSigner, normalise_answer
from rapport.store.database import StoreUnavailable
from rapport.store.links import Link, LinkBook, token_hash
from rapport.web.checkout import RECEIPT_DAYS, HandOff
from rapport.web.guard import MAX_CHECKS, RateLimits, Sessions
from rapport.web.i18n import Speech
from rapport.web.journeys import JourneyLink, Unavailable
from rapport.web.shield import StaticFiles

log = logging.getLogger("rapport.portal")
HERE = Path(__file__).parent
SECTIONS = (
    "pay",
    "pay-part",
    "update-details",
    "plan",
    "talk",
    "hardship",
    "dispute",
    "opt-out",
    "thanks",
)
# Stopping messages asks for no check: it must be as easy as the message says (Regulation
# F), and it shows nothing of the account.
OPEN_SECTIONS = ("opt-out",)
CALL_TIMES = (clock(10, 0), clock(12, 30), clock(16, 0), clock(18, 30))  # offered, if in window
CALL_LENGTH = timedelta(minutes=30)


class Visit:
    """One request on one live link."""

    def __init__(
        self,
        request: Request,
        token: str,
        link: Link,
        speech: Speech,
        signed_in: bool,
        cookie: str | None,
    ) -> None:
        self.request, self.token, self.link, self.speech = request, token, link, speech
        self.signed_in, self.cookie = signed_in, cookie
        self.digest = token_hash(token)
        self.status: JourneyStatus | None = None
        self.policy = Policy()

    @property
    def base(self) -> str:
        return f"/r/{self.token}"


class Portal:
    def __init__(
        self,
        links: LinkBook,
        consent: ConsentBook,
        journeys: JourneyLink,
        hand_off: HandOff,
        signer: LinkSigner,
        creditor: str,
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
        self.templates = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(default=True),
            extensions=["jinja2.ext.i18n"],
        )
        self.templates.newstyle_gettext = True  # type: ignore[attr-defined]
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
        chosen = request.query_params.get("lang") or request.cookies.get("rapport_lang")
        try:
            allowed, link = await asyncio.to_thread(self._admitted, request, token)
        except StoreUnavailable:
            return self._page(
                request, "message.html", Speech.of(None, chosen), 503, kind="unavailable"
            )
        if not allowed:
            log.info("portal rate limited")
            count(PORTAL_ACTIONS, action="rate_limited")
            return self._page(request, "message.html", Speech.of(None, None), 429, kind="slow_down")
        if link is None:
            return self._page(
                request, "message.html", Speech.of(None, chosen), 404, kind="not_found"
            )
        cookie = request.cookies.get(_cookie_name(token))
        signed_in = link.check_kind is None or self.sessions.valid(
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
            return self._render(visit, "message.html", 503, kind="unavailable")
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

    # --- pages -----------------------------------------------------------------------------

    async def show(self, request: Request) -> Response:
        visit = await self._visit(request)
        if isinstance(visit, Response):
            return visit
        section = request.path_params.get("section", "")
        if section and section not in SECTIONS:
            return self._render(visit, "message.html", 404, kind="not_found")
        if not visit.signed_in and section not in OPEN_SECTIONS:
            return self._render(visit, "check.html", next=section)
        return self._section(visit, section)

    def _section(
        self, visit: Visit, section: str, status_code: int = 200, **extra: Any
    ) -> Response:
        status = visit.status
        if status is None or _ended(status):
            if section == "thanks" or (status is not None and status.outcome == "paid"):
                return self._render(visit, "done.html", status_code, kind="paid")
            return self._render(
                visit, "done.html", status_code, kind=status.outcome if status else "ended"
            )
        if section == "thanks":
            return self._render(visit, "done.html", kind="paying")
        if section == "plan" and status.plan_offer is None:
            section = ""
        template = {
            "": "options.html",
            "pay": "options.html",
            "pay-part": "pay_part.html",
            "update-details": "update.html",
            "plan": "plan.html",
            "talk": "talk.html",
            "hardship": "hardship.html",
            "dispute": "dispute.html",
            "opt-out": "opt_out.html",
        }[section]
        return self._render(visit, template, status_code, **extra)

    def _render(
        self, visit: Visit, template: str, status_code: int = 200, **extra: Any
    ) -> Response:
        status = visit.status
        context: dict[str, Any] = {
            "base": visit.base,
            "signed_in": visit.signed_in,
            "status": status,
            "check_kind": visit.link.check_kind,
            "channel": visit.link.channel,
            "csrf": self.sessions.csrf(visit.digest, visit.cookie),
            "minimum_part": _minimum_part(status) if status else None,
            "call_times": call_times(status, visit.policy, visit.speech) if status else [],
            "checks_left": MAX_CHECKS - visit.link.failed_checks,
        }
        response = self._page(
            visit.request, template, visit.speech, status_code, **context, **extra
        )
        if (
            "lang" in visit.request.query_params
            and visit.speech.language == visit.request.query_params["lang"]
        ):
            response.set_cookie(
                "rapport_lang",
                visit.speech.language,
                max_age=86400 * 365,
                httponly=True,
                samesite="lax",
                secure=_secure(visit.request),
            )
        return response

    def _page(
        self,
        request: Request,
        template: str,
        speech: Speech,
        status_code: int = 200,
        **context: Any,
    ) -> HTMLResponse:
        path = "" if status_code == 404 else request.url.path.removesuffix("/check")
        body = self.templates.get_template(template).render(
            creditor=self.creditor, path=path, **speech.context(), **context
        )
        return HTMLResponse(body, status_code=status_code)

    def refusal(self, request: Request, status_code: int) -> HTMLResponse:
        """The page for a request refused before any handler: no such page (404), a
        method it does not take (405), a body too large (413)."""
        chosen = request.query_params.get("lang") or request.cookies.get("rapport_lang")
        kind = "not_found" if status_code in (404, 405) else "unavailable"
        return self._page(request, "message.html", Speech.of(None, chosen), status_code, kind=kind)

    # --- the identity check ------------------------------------------------------------

    async def check(self, request: Request) -> Response:
        visit = await self._visit(request)
        if isinstance(visit, Response):
            return visit
        form = await request.form()
        if not self._csrf_ok(visit, form.get("csrf")):
            return self._render(visit, "message.html", 403, kind="expired_form")
        following = str(form.get("next", ""))
        following = following if following in SECTIONS else ""
        link = visit.link
        if link.check_kind is None or visit.signed_in:
            return _see_other(f"{visit.base}/{following}".rstrip("/"))
        try:  # the try is taken before the answer is compared: none left, none compared
            tried = await asyncio.to_thread(self.links.try_check, visit.token, MAX_CHECKS)
        except StoreUnavailable:
            return self._render(visit, "message.html", 503, kind="unavailable")
        if tried is None:
            log.info("portal check locked", extra={"account_id": link.account_id})
            count(PORTAL_ACTIONS, action="check_locked")
            return self._render(visit, "message.html", 403, kind="locked")
        answer = normalise_answer(link.check_kind, str(form.get("answer", "")))
        expected = link.check_hash or ""
        if not answer or not same(
            self.sessions.signer.check_hash(link.check_kind, answer), expected
        ):
            log.info("portal check failed", extra={"account_id": link.account_id})
            count(PORTAL_ACTIONS, action="check_failed")
            if tried >= MAX_CHECKS:
                return self._render(visit, "message.html", 403, kind="locked")
            visit.link = replace(link, failed_checks=tried)
            return self._render(visit, "check.html", 422, next=following, wrong=True)
        await asyncio.to_thread(self.links.check_passed, visit.token)
        log.info("portal check passed", extra={"account_id": link.account_id})
        count(PORTAL_ACTIONS, action="check_passed")
        response = _see_other(f"{visit.base}/{following}".rstrip("/"))
        response.set_cookie(
            _cookie_name(visit.token),
            self.sessions.cookie(visit.digest, time.time()),
            max_age=1800,
            path=visit.base,
            httponly=True,
            samesite="lax",
            secure=_secure(request),
        )
        return response

    def _csrf_ok(self, visit: Visit, given: Any) -> bool:
        return self.sessions.csrf_ok(visit.digest, visit.cookie, given)

    # --- actions -----------------------------------------------------------------------

    async def act(self, request: Request) -> Response:
        visit = await self._visit(request)
        if isinstance(visit, Response):
            return visit
        section = request.path_params["section"]
        if section not in SECTIONS or section == "thanks":
            return self._render(visit, "message.html", 404, kind="not_found")
        if not visit.signed_in and section not in OPEN_SECTIONS:
            return self._render(visit, "check.html", next=section)
        form = {key: str(value) for key, value in (await request.form()).items()}
        if not self._csrf_ok(visit, form.get("csrf")):
            return self._render(visit, "message.html", 403, kind="expired_form")
        status = visit.status
        if status is None or _ended(status):
            return self._section(visit, section)
        account = visit.link.account_id
        log.info("portal %s", section, extra={"account_id": account, "action": section})
        count(PORTAL_ACTIONS, action=section)  # one of SECTIONS
        try:
            if section in ("pay", "pay-part"):
                return await self._pay(visit, status, section, form)
            if section == "update-details":
                return await self._to_provider(visit, status, "setup")
            if section == "plan":
                return await self._plan(visit, form)
            if section == "talk":
                return await self._talk(visit, status, form)
            if section in ("hardship", "dispute"):
                signal = "hardship_reported" if section == "hardship" else "dispute"
                await self.journeys.signal(account, signal, {"reason": "said on the portal"})
                return self._render(visit, "done.html", kind=section)
            return await self._opt_out(visit, form)
        except CheckoutUnavailable as exc:
            log.warning("checkout not created: %s", exc, extra={"account_id": account})
            return self._render(visit, "message.html", 503, kind="unavailable")
        except (Unavailable, StoreUnavailable):
            return self._render(visit, "message.html", 503, kind="unavailable")
        except JourneyError:
            return self._render(visit, "done.html", kind="ended")

    # --- paying, new payment details, and the receipt after --------------------------------

    async def _pay(
        self, visit: Visit, status: JourneyStatus, section: str, form: dict[str, str]
    ) -> Response:
        typed = "" if section == "pay" and form.get("amount", "full") == "full" else None
        if typed is None:
            typed = form.get("amount", "")
            problem, amount, readings = _part_amount(typed, status, str(visit.speech.locale))
        else:
            problem, amount, readings = _chargeable(status.balance, status), status.balance, ()
        if problem is not None:
            return self._section(
                visit, "pay-part", 422, error=problem, entered=typed, readings=readings
            )
        return await self._to_provider(visit, status, "payment", amount)

    async def _to_provider(
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
            visit.link.account_id,
            mode,
            status.currency,
            amount,
            visit.speech.language,
            status.timezone,
        )
        target = _origin(started.url)
        if target in ("", _origin(self.portal_url), self.provider_origin):
            response: Response = _see_other(started.url)
        else:
            log.warning("the provider's page is not in form-action: set RAPPORT_PAYMENT_PAGE_URL")
            response = self._render(visit, "handoff.html", url=started.url)
        name, value, path = started.cookie
        response.set_cookie(
            name,
            value,
            max_age=RECEIPT_DAYS * 86400,
            path=path,
            httponly=True,
            samesite="lax",
            secure=_secure(visit.request),
        )
        return response

    async def receipt(self, request: Request) -> Response:
        """The page after the provider (`/p/{reference}`, or `.../cancel` when the customer
        left it): what was paid, when, and its reference; only to the browser that paid."""
        reference = request.path_params["reference"]
        chosen = request.query_params.get("lang")
        try:
            found = await self.hand_off.receipt(reference, dict(request.cookies))
        except StoreUnavailable:
            return self._page(request, "message.html", Speech.of(None, chosen), 503)
        if found is None:
            return self._page(
                request, "message.html", Speech.of(None, chosen), 404, kind="not_found"
            )
        speech = Speech.of(found.checkout.locale, chosen)
        if request.url.path.endswith("/cancel"):
            return self._page(request, "receipt.html", speech, kind="cancelled", receipt=found)
        paid_on = found.payment.received_at if found.payment else found.checkout.created_at
        zone = ZoneInfo(found.checkout.timezone or "UTC")
        return self._page(
            request,
            "receipt.html",
            speech,
            kind=found.state,
            receipt=found,
            paid_day=paid_on.astimezone(zone).date(),
        )

    async def _plan(self, visit: Visit, form: dict[str, str]) -> Response:
        try:
            installments = int(form.get("installments", ""))
        except ValueError:
            return self._section(visit, "plan", 422, error="choose")
        try:
            plan = await self.journeys.accept_plan(visit.link.account_id, installments)
        except JourneyError as refused:
            return self._section(visit, "plan", 409, refused=str(refused))
        return self._render(visit, "done.html", kind="plan", plan=plan)

    async def _talk(self, visit: Visit, status: JourneyStatus, form: dict[str, str]) -> Response:
        offered = dict(call_times(status, visit.policy, visit.speech))
        chosen = form.get("at", "")
        if chosen not in offered:
            return self._section(visit, "talk", 422, error="choose")
        await self.journeys.signal(
            visit.link.account_id,
            "callback_requested",
            {"at": chosen, "reason": "asked on the portal"},
        )
        return self._render(visit, "done.html", kind="talk", when=offered[chosen])

    async def _opt_out(self, visit: Visit, form: dict[str, str]) -> Response:
        link, channel = visit.link, form.get("channel", "")
        if channel not in ("sms", "email", "all"):
            return self._section(visit, "opt-out", 422, error="choose")
        address = link.address if channel == link.channel else None
        action: Action = "cease" if channel == "all" else "opt_out"
        await asyncio.to_thread(
            self.consent.record,
            action,
            ALL if channel == "all" else channel,
            "portal",
            account_id=link.account_id,
            address=address,
        )
        try:
            if channel == "all":
                await self.journeys.signal(
                    link.account_id, "cease_communication", {"reason": "asked on the portal"}
                )
            else:
                await self.journeys.signal(link.account_id, "opt_out", {"channel": channel})
        except (JourneyError, Unavailable):
            pass  # committed: the journey's next send reads the store
        return self._render(visit, "done.html", kind=f"opt_out_{channel}")


def call_times(
    status: JourneyStatus, policy: Policy, speech: Speech, now: datetime | None = None
) -> list[tuple[str, str]]:
    """(value, label) of up to six times a person can call: in the journey's contact
    window and days, in the customer's zone, at least two hours ahead."""
    zone = ZoneInfo(status.timezone or "UTC")
    now = (now or datetime.now(UTC)).astimezone(zone)
    window = policy.contact_window
    times = []
    for days in range(0, 8):
        day = (now + timedelta(days=days)).date()
        if WEEKDAYS[day.weekday()] not in policy.days:
            continue
        for at in CALL_TIMES:
            moment = datetime.combine(day, at, tzinfo=zone)
            ends = (datetime.combine(day, at) + CALL_LENGTH).time()
            if window.start <= at and ends <= window.end and moment >= now + timedelta(hours=2):
                times.append((moment.astimezone(UTC).isoformat(), speech.moment(moment, zone)))
    return times[:6]


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


def _minimum_part(status: JourneyStatus) -> Decimal:
    """The least a part payment may be: the journey's minimum due when it is below the
    balance, else one minor unit of the currency; never less than the provider charges."""
    currency = status.currency or "USD"
    least = max(unit(currency), minimum_charge(currency) or Decimal(0))
    if status.minimum_due and least <= status.minimum_due < status.balance:
        return status.minimum_due
    return least


def _part_amount(
    text: str, status: JourneyStatus, locale: str
) -> tuple[str | None, Decimal, tuple[str, ...]]:
    """(problem, amount, readings): the amount as the customer typed it in their locale
    (`rapport.money.read_typed`: an ambiguous one is refused with its readings), then the
    journey's bounds, then what the provider can charge."""
    currency = status.currency or "USD"
    try:
        amount = read_typed(text, locale, currency)
    except BadAmount as bad:
        kind = {"out_of_bounds": "too_large"}.get(bad.kind, bad.kind)
        return kind, Decimal(0), bad.suggestions
    if amount < _minimum_part(status):
        return "too_small", amount, ()
    if amount > status.balance:
        return "too_large", amount, ()
    return _chargeable(amount, status), amount, ()


def _chargeable(amount: Decimal, status: JourneyStatus) -> str | None:
    """`below_provider_minimum` when the provider would refuse to charge `amount`."""
    return None if uncharged(amount, status.currency or "USD") is None else "not_chargeable"
