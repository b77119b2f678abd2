"""The links a message carries: one opaque token per message, in the store by hash.

`{RAPPORT_PORTAL_URL}/r/{token}` lands on the portal's page of every option the journey
allows; an email's named links (`links.plan`, ...) open that page's section directly,
while every link in a text is the one short landing link. The token is 96 bits (16
characters) derived from the message's idempotency key with the link secret: the same on
every retry of the message, unguessable without the secret, no account id in the URL.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import timedelta

from rapport.contract.portal import BY_LINK
from rapport.language.context import LINK_NAMES

LINK_LIFETIME = timedelta(days=30)  # a portal link (purpose `respond`)
UNSUBSCRIBE_LIFETIME = timedelta(days=400)  # mail clients offer one-click long after
RESPOND, UNSUBSCRIBE = "respond", "unsubscribe"
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,24}$")


@dataclass(frozen=True)
class LinkSigner:
    secret: str

    def token(self, purpose: str, message_key: str) -> str:
        """An opaque token for one message's link: 96 bits, 16 characters."""
        mac = hmac.new(
            self.secret.encode(), f"{purpose}:{message_key}".encode(), hashlib.sha256
        ).digest()
        return base64.urlsafe_b64encode(mac[:12]).decode()

    def check_hash(self, kind: str, answer: str) -> str:
        """What the store keeps of the identity check's answer: keyed, so a copy of the
        store cannot try the 10,000 possible last four digits offline."""
        return hmac.new(
            self.secret.encode(), f"check:{kind}:{answer}".encode(), hashlib.sha256
        ).hexdigest()

    def mac(self, *parts: str) -> str:
        """A short keyed digest of `parts` (sessions and form tokens of the portal)."""
        return hmac.new(
            self.secret.encode(), "\n".join(parts).encode(), hashlib.sha256
        ).hexdigest()[:32]


def portal_links(base_url: str, token: str, channel: str) -> dict[str, str]:
    """The template's `links` for one message: in an email, each name opens its section
    of the portal (the row of `rapport.contract.portal.SECTIONS` with that link); in a
    text, every name is the one landing link."""
    landing = f"{base_url.rstrip('/')}/r/{token}"
    if channel != "email":
        return dict.fromkeys(LINK_NAMES, landing)
    return {name: f"{landing}/{BY_LINK[name].slug}".rstrip("/") for name in LINK_NAMES}


def identity_check(channel: str, address: str | None) -> tuple[str, str] | None:
    """(kind, expected answer) of the light check before the portal shows more than the
    creditor's name: the last four digits of the number a text went to, or the
    email address an email went to."""
    if not address:
        return None
    kind = "email" if channel == "email" else "phone_last4"
    answer = normalise_answer(kind, address)
    return (kind, answer) if kind == "email" or len(answer) == 4 else None


def normalise_answer(kind: str, answer: str) -> str:
    if kind == "email":
        return answer.strip().casefold()
    return re.sub(r"\D", "", answer)[-4:]
