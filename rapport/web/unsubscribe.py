"""One-click unsubscribe (RFC 8058): every email carries `List-Unsubscribe:
<{RAPPORT_PORTAL_URL}/u/{token}>` and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`.

- `POST /u/{token}` (the mail client's one click, or the page's button) opts that
  address out of email in the consent record, for every later journey too, and answers
  200 with no login. Only a POST does: RFC 8058 keeps GET and HEAD free of effects,
  because link scanners and previewers fetch every URL in a mail.
- `GET /u/{token}` (someone opening the link) shows a page with one button that does
  the same POST: no JavaScript, nothing about the account but the masked address. It
  is the portal's page (`unsubscribe.html`): the creditor's name in its header, so it
  cannot pass for anyone's, and the other language a link away (`?lang=`).
- An unknown, expired, revoked or forged token gets the same plain 404; requests are
  rate-limited per client address like the portal's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from rapport.consent.book import ConsentBook
from rapport.security.links import TOKEN
from rapport.store.database import StoreUnavailable
from rapport.store.languages import latest_locale
from rapport.store.links import Link, LinkBook
from rapport.web.guard import RateLimits
from rapport.web.portal.site import chosen_language
from rapport.web.portal.speech import Speech, browser_language

log = logging.getLogger(__name__)
PURPOSE = "unsubscribe"
Pages = Callable[..., Response]
"""The portal's `plain_page` (request, template, speech, status, **context): the
creditor's header, the language links, the portal's style."""


class Unsubscribe:
    def __init__(
        self, links: LinkBook, consent: ConsentBook, limits: RateLimits, pages: Pages
    ) -> None:
        self.links, self.consent, self.limits, self.pages = links, consent, limits, pages

    def routes(self) -> list[Route]:
        return [
            Route("/u/{token}", self.page, methods=["GET"]),  # and HEAD: no effect
            Route("/u/{token}", self.unsubscribe, methods=["POST"]),
        ]

    async def page(self, request: Request) -> Response:
        found = await self._link(request)
        if isinstance(found, Response):
            return found
        link, speech = found
        chosen = chosen_language(request)
        return self._page(
            request,
            speech,
            200,
            speech.gettext("Stop emails?"),
            speech.gettext(
                "We will stop emailing %(address)s about this account.",
                address=_masked(link.address) or speech.gettext("this address"),
            ),
            form=request.url.path + (f"?lang={speech.language}" if chosen else ""),
        )

    async def unsubscribe(self, request: Request) -> Response:
        found = await self._link(request)
        if isinstance(found, Response):
            return found
        link, speech = found
        _ = speech.gettext
        try:
            await asyncio.to_thread(
                self.consent.record,
                "opt_out",
                "email",
                "email_one_click",
                account_id=link.account_id,
                address=link.address,
            )
        except StoreUnavailable:
            return self._unavailable(request, speech)
        log.info("email opt-out by one click", extra={"account_id": link.account_id})
        return self._page(
            request,
            speech,
            200,
            _("Done: no more emails"),
            _(
                "You will not get emails from us about this account. Texts and letters "
                "follow your choices for those."
            ),
        )

    async def _link(self, request: Request) -> tuple[Link, Speech] | Response:
        """The live link and the language to speak, or the page that says why not."""
        token, chosen = request.path_params["token"], chosen_language(request)
        try:
            allowed, link = await asyncio.to_thread(self._admitted, request, token)
        except StoreUnavailable:
            return self._unavailable(request, Speech.of(await self._locale(None, request), chosen))
        speech = Speech.of(await self._locale(link, request), chosen)
        _ = speech.gettext
        if not allowed:
            return self._page(
                request,
                speech,
                429,
                _("Please wait a moment"),
                _("Too many requests came at once. Please try again in a minute."),
            )
        if link is None:
            return self._page(
                request,
                speech,
                404,
                _("This link does not work"),
                _("It may have expired. You can still reply to any of our emails to stop them."),
            )
        return link, speech

    def _page(
        self, request: Request, speech: Speech, status: int, title: str, text: str, form: str = ""
    ) -> Response:
        """`title` and `text` come translated and escaped (Markup from `Speech.gettext`)."""
        return self.pages(
            request, "unsubscribe.html", speech, status, title=title, text=text, form=form
        )

    def _unavailable(self, request: Request, speech: Speech) -> Response:
        _ = speech.gettext
        return self._page(
            request,
            speech,
            503,
            _("Please try again"),
            _("We could not save your choice just now."),
        )

    def _admitted(self, request: Request, token: str) -> tuple[bool, Link | None]:
        """(within the client address's rate limit, the live link), in one thread trip."""
        found = self.links.find(token, PURPOSE, datetime.now(UTC)) if TOKEN.match(token) else None
        return self.limits.allowed(request), found

    async def _locale(self, link: Link | None, request: Request) -> str | None:
        """The account's language (its latest message's locale), else the browser's."""
        if link is not None:
            try:
                known = await asyncio.to_thread(latest_locale, self.links.store, [link.account_id])
            except (StoreUnavailable, SQLAlchemyError):
                known = None
            if known:
                return known
        return browser_language(request.headers.get("Accept-Language", ""))


def _masked(address: str | None) -> str | None:
    """r***@example.com; None when the address is not kept (no key ring to seal it)."""
    if not address or "@" not in address:
        return None
    name, domain = address.split("@", 1)
    return f"{name[:1]}***@{domain}"
