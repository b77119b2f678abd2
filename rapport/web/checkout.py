"""The portal's way to the payment provider's hosted page and back.

Each tap on "Pay" or "Update details" is a checkout with a server-side reference: the
return URLs carry the reference (`/p/{reference}`), never the portal's token, and a
cookie scoped to that path lets only the browser that started it see the page after
paying, for two hours. A second tap, or a second tab, for the same link and amount goes
back to the session already open instead of opening another (no paying twice by
accident). The
provider's minimum charge is checked before anyone is sent there. The page after
paying is a receipt read from the ledger: amount, currency, date and the payment's
reference, the same reference the journey's thank-you carries.
"""

from __future__ import annotations

import asyncio
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Literal

from rapport.money import from_minor, to_minor
from rapport.payments.checkout import SESSION_LIFETIME, Checkout
from rapport.security.links import LinkSigner
from rapport.store.checkouts import Checkout as CheckoutRecord
from rapport.store.checkouts import CheckoutBook
from rapport.store.payments import Payment, PaymentLedger

REFERENCE = re.compile(r"^[A-Za-z0-9_-]{22}$")
# How long the browser that paid sees its receipt: the provider's session (30 minutes),
# then a portal session's 30, with room for a slow bank's redirect. No longer: the
# receipt needs no identity check, and a phone is often shared (afterwards, the link's
# thanks page shows the payment after the check, and the thank-you message its reference).
RECEIPT_SECONDS = 2 * 3600


@dataclass(frozen=True)
class Started:
    """Where to send the customer, and the cookie that shows them the receipt after."""

    url: str
    reference: str
    cookie: tuple[str, str, str]  # name, value, path


@dataclass(frozen=True)
class Receipt:
    checkout: CheckoutRecord
    payment: Payment | None  # None: the provider has not told us yet

    @property
    def amount(self) -> Decimal | None:
        if self.payment is not None:
            return self.payment.amount
        minor = self.checkout.amount_minor
        return from_minor(minor, self.checkout.currency) if minor is not None else None

    @property
    def state(self) -> Literal["paid", "pending", "failed", "waiting", "saved"]:
        if self.checkout.mode == "setup":
            return "saved" if self.checkout.completed_at else "waiting"
        if self.payment is None:
            return "waiting"
        if self.payment.status == "pending":
            return "pending"
        return "failed" if self.payment.status == "failed" else "paid"


class HandOff:
    def __init__(
        self,
        checkout: Checkout,
        book: CheckoutBook,
        ledger: PaymentLedger,
        signer: LinkSigner,
        portal_url: str,
    ) -> None:
        self.checkout, self.book, self.ledger, self.signer = checkout, book, ledger, signer
        self.portal_url = portal_url.rstrip("/")

    async def start(
        self,
        link_digest: str,
        account_id: str,
        mode: Literal["payment", "setup"],
        currency: str,
        amount: Decimal | None,
        locale: str,
        timezone: str,
    ) -> Started:
        """A session at the provider (or the one this link has open for the same thing);
        CheckoutUnavailable when the provider does not make one. `locale` is the page's
        (`es-MX`): the receipt after paying speaks and writes money as the page did; the
        provider is told its language."""
        now = datetime.now(UTC)
        minor = to_minor(amount, currency) if amount is not None else None
        open_ = await asyncio.to_thread(self.book.open_for, link_digest, mode, minor, now)
        if open_ is not None and open_.session_url:
            return Started(open_.session_url, open_.reference, self._cookie(open_.reference))
        reference = secrets.token_urlsafe(16)
        await asyncio.to_thread(
            self.book.open,
            CheckoutRecord(
                reference=reference,
                account_id=account_id,
                link_hash=link_digest,
                mode=mode,
                currency=currency,
                amount_minor=minor,
                locale=locale,
                timezone=timezone,
                created_at=now,
                expires_at=now + timedelta(seconds=SESSION_LIFETIME),
            ),
        )
        back = f"{self.portal_url}/p/{reference}"
        session = await self.checkout.session(
            mode,
            account_id,
            reference,
            back,
            f"{back}/cancel",
            currency,
            amount,
            locale.replace("_", "-").split("-")[0],
        )
        await asyncio.to_thread(self.book.started, reference, session.id, session.url)
        return Started(session.url, reference, self._cookie(reference))

    def _cookie(self, reference: str) -> tuple[str, str, str]:
        return (
            f"rr_{reference[:12]}",
            self.signer.mac("receipt", reference),
            f"/p/{reference}",
        )

    async def receipt(self, reference: str, cookies: dict[str, str]) -> Receipt | None:
        """What the page after paying shows; None for an unknown reference or a browser
        that did not start this checkout (the same 404 either way)."""
        if not REFERENCE.match(reference):
            return None
        name, value, _ = self._cookie(reference)
        if not hmac.compare_digest(cookies.get(name, "").encode(), value.encode()):
            return None
        checkout = await asyncio.to_thread(self.book.find, reference)
        if checkout is None or checkout.created_at < datetime.now(UTC) - timedelta(
            seconds=RECEIPT_SECONDS
        ):
            return None
        payment = None
        if checkout.payment_id is not None:
            payment = await asyncio.to_thread(self.ledger.find, checkout.payment_id)
        return Receipt(checkout, payment)
