"""One-click unsubscribe (RFC 8058): every email carries `List-Unsubscribe:
<{RAPPORT_PORTAL_URL}/u/{token}>` and `List-Unsubscribe-Post: List-Unsubscribe=One-Click`.

- `POST /u/{token}` (the mail client's one click, or the page's button) opts that
  address out of email in the consent record, for every later journey too, and answers
  200 with no login.
- `GET /u/{token}` (someone opening the link) shows a page with one button that does
  the same POST: no JavaScript, nothing about the account but the masked address.
- An unknown, expired, revoked or forged token gets the same plain 404.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from html import escape

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from rapport.consent.book import ConsentBook
from rapport.store.database import StoreUnavailable
from rapport.store.languages import latest_locale
from rapport.store.links import Link, LinkBook
from rapport.web.guard import headers
from rapport.web.i18n import LANGUAGES, Speech

log = logging.getLogger(__name__)
PURPOSE = "unsubscribe"
HEADERS = headers()  # the portal's: no-store, no scripts, no framing, no referrer


class Unsubscribe:
    def __init__(self, links: LinkBook, consent: ConsentBook) -> None:
        self.links, self.consent = links, consent

    def routes(self) -> list[Route]:
        return [Route("/u/{token}", self.handle, methods=["GET", "POST"])]

    async def handle(self, request: Request) -> HTMLResponse:
        token = request.path_params["token"]
        link = (
            None
            if len(token) > 24
            else await asyncio.to_thread(self.links.find, token, PURPOSE, datetime.now(UTC))
        )
        speech = Speech.of(await self._locale(link, request), None)
        _ = speech.gettext
        if link is None:
            return _page(
                speech,
                404,
                _("This link does not work"),
                _("It may have expired. You can still reply to any of our emails to stop them."),
            )
        if request.method == "GET":
            return _page(
                speech,
                200,
                _("Stop emails?"),
                _(
                    "We will stop emailing %(address)s about this account.",
                    address=_masked(link.address),
                ),
                form=str(request.url.path),
            )
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
            return _page(
                speech, 503, _("Please try again"), _("We could not save your choice just now.")
            )
        log.info("email opt-out by one click", extra={"account_id": link.account_id})
        return _page(
            speech,
            200,
            _("Done: no more emails"),
            _(
                "You will not get emails from us about this account. Texts and letters "
                "follow your choices for those."
            ),
        )

    async def _locale(self, link: Link | None, request: Request) -> str | None:
        """The account's language (its latest message's locale), else the browser's."""
        if link is not None:
            try:
                known = await asyncio.to_thread(latest_locale, self.links.store, [link.account_id])
            except (StoreUnavailable, SQLAlchemyError):
                known = None
            if known:
                return known
        return _browser_language(request.headers.get("Accept-Language", ""))


def _masked(address: str | None) -> str:
    if not address or "@" not in address:
        return "this address"
    name, domain = address.split("@", 1)
    return f"{name[:1]}***@{domain}"


def _browser_language(header: str) -> str | None:
    """The first language of `Accept-Language` the portal speaks."""
    for part in header.split(","):
        tag = part.split(";")[0].strip().split("-")[0].lower()
        if tag in LANGUAGES:
            return tag
    return None


def _page(
    speech: Speech, status: int, title: str, text: str, form: str | None = None
) -> HTMLResponse:
    """`title` and `text` come translated and escaped (Markup from `Speech.gettext`)."""
    button = (
        (
            f'<form method="post" action="{escape(form)}">'
            '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
            f'<button type="submit" class="primary">{speech.gettext("Stop emails")}</button>'
            "</form>"
        )
        if form
        else ""
    )
    body = (
        f'<!doctype html><html lang="{speech.language}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{title}</title><link rel="stylesheet" href="/static/portal.css">'
        f"</head><body><main><h1>{title}</h1><p>{text}</p>{button}</main>"
        f"</body></html>"
    )
    return HTMLResponse(body, status_code=status, headers=HEADERS)
