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

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from rapport.consent.book import ConsentBook
from rapport.store.database import StoreUnavailable
from rapport.store.links import LinkBook
from rapport.web.guard import headers

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
        if link is None:
            return _page(
                404,
                "This link does not work",
                "It may have expired. You can still reply to any of our emails to stop them.",
            )
        if request.method == "GET":
            return _page(
                200,
                "Stop emails?",
                f"We will stop emailing {escape(_masked(link.address))} about this account.",
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
            return _page(503, "Please try again", "We could not save your choice just now.")
        log.info("email opt-out by one click", extra={"account_id": link.account_id})
        return _page(
            200,
            "Done: no more emails",
            "You will not get emails from us about "
            "this account. Texts and letters follow your choices for those.",
        )


def _masked(address: str | None) -> str:
    if not address or "@" not in address:
        return "this address"
    name, domain = address.split("@", 1)
    return f"{name[:1]}***@{domain}"


def _page(status: int, title: str, text: str, form: str | None = None) -> HTMLResponse:
    button = (
        (
            f'<form method="post" action="{escape(form)}">'
            '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
            '<button type="submit" class="primary">Stop emails</button></form>'
        )
        if form
        else ""
    )
    body = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{escape(title)}</title><link rel="stylesheet" href="/static/portal.css">'
        f"</head><body><main><h1>{escape(title)}</h1><p>{text}</p>{button}</main>"
        f"</body></html>"
    )
    return HTMLResponse(body, status_code=status, headers=HEADERS)
