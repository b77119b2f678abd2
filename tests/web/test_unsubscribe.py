"""One-click unsubscribe (RFC 8058) over real SMTP and HTTP: every email carries the
headers; one POST opts the address out for later journeys too; bad tokens say nothing;
the store keeps the address sealed, never in clear."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
from pydantic import SecretStr
from sqlalchemy import select
from temporalio.testing import ActivityEnvironment

from activities.delivery import DeliveryActivities
from rapport.consent.book import ConsentBook
from rapport.providers.base import Router
from rapport.providers.smtp import SmtpEmail
from rapport.runtime.servers import free_port
from rapport.runtime.settings import Settings
from rapport.security.codec import new_key_line
from rapport.security.links import LinkSigner
from rapport.store.database import Store
from rapport.store.links import LinkBook, links
from rapport.web.app import serve_web
from tests.fakes import Mailbox, smtp_server
from tests.sends import send_message

SIGNER = LinkSigner("k")
EMAIL = {"reminder.email.j2": "Subject: Your balance\n\n{{ balance }} is due.\n{{ opt_out }}\n"}


async def test_an_email_unsubscribes_in_one_click_and_stays_unsubscribed(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        portal_url=f"http://127.0.0.1:{free_port()}",
        encryption_keys=SecretStr(new_key_line("t1")),
    )
    store = Store(settings.store_url())
    store.upgrade()
    book = ConsentBook(store)
    mailbox = Mailbox()
    web = await serve_web(settings)
    try:
        async with smtp_server(mailbox) as port, httpx.AsyncClient() as http:
            delivery = DeliveryActivities(
                Router({"email": SmtpEmail("127.0.0.1", port, "a@example.com", starttls=False)}),
                SIGNER,
                consent=book,
                links=LinkBook(store, settings.address_sealer()),
                portal_url=settings.portal_url,
            )
            sent = await ActivityEnvironment().run(
                delivery.send_message, send_message(EMAIL, channel="email", template="reminder")
            )
            [mail] = mailbox.received
            url = mail["List-Unsubscribe"].strip("<>")
            page = await http.get(url)
            clicked = await http.post(
                url,
                content="List-Unsubscribe=One-Click",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            later = await ActivityEnvironment().run(
                delivery.send_message,
                send_message(EMAIL, channel="email", template="reminder", key="next-month"),
            )
            forged = await http.post(
                f"{settings.portal_url}/u/AAAAAAAAAAAAAAAA", content="List-Unsubscribe=One-Click"
            )
            LinkBook(store).revoke("T-1", datetime.now(UTC))
            revoked = await http.get(url)
    finally:
        await web.stop()
    assert sent.status == "delivered"
    assert url.startswith(f"{settings.portal_url}/u/")
    assert len(url.rsplit("/", 1)[1]) <= 24
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert page.status_code == 200
    assert "r***@example.com" in page.text
    assert "<script" not in page.text
    assert '<form method="post"' in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert clicked.status_code == 200
    assert "no more emails" in clicked.text
    assert (later.status, later.detail.split(" at ")[0]) == (
        "suppressed",
        "opted_out: email_one_click",
    )
    assert len(mailbox.received) == 1
    assert forged.status_code == 404
    assert revoked.status_code == 404
    assert "T-1" not in forged.text + revoked.text
    with store.begin() as connection:
        kept = [str(row) for row in connection.execute(select(links))]
    assert kept
    assert not any("example.com" in row for row in kept)  # sealed with the key ring
    store.dispose()
