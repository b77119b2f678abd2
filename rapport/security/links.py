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
import unicodedata
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


def identity_check(
    channel: str, address: str | None, phone: str | None = None, email: str | None = None
) -> tuple[str, str] | None:
    """(kind, expected answer) of the light check before the portal shows more than the
    creditor's name: the last four digits of the number a text (or call) went to, or the
    email address an email went to. A link in a letter, a push notification or a
    webhook asks for the customer's phone (`phone`), else their email (`email`): such a
    message's own address is no secret (a postal address, an account id). None when
    there is nothing to ask: the portal then shows nothing about the account."""
    asked = {"sms": [("phone_last4", address)], "voice": [("phone_last4", address)]}
    asked["email"] = [("email", address)]
    for kind, known in asked.get(channel, [("phone_last4", phone), ("email", email)]):
        answer = normalise_answer(kind, known or "")
        if well_formed(kind, answer):
            return kind, answer
    return None


def normalise_answer(kind: str, answer: str) -> str:
    """The answer as it is compared, whatever a phone's keyboard typed: digits of any
    script (fullwidth digits from an East Asian keyboard, Arabic-Indic ones) are the
    digits they are, and an email loses the invisible characters a paste brings (a
    zero-width space, a direction mark) and its compatibility forms (a fullwidth at)."""
    text = unicodedata.normalize("NFKC", answer)
    if kind == "email":
        address = "".join(c for c in text if unicodedata.category(c) != "Cf").strip().casefold()
        return _ascii_domain(address)
    digits = (unicodedata.decimal(c, None) for c in text)
    return "".join(str(d) for d in digits if d is not None)[-4:]


def _ascii_domain(address: str) -> str:
    """An address with its domain as DNS writes it (IDNA): a browser's email field sends
    riley@bücher.example as riley@xn--bcher-kva.example, and both are one address."""
    local, at, domain = address.rpartition("@")
    if not at:
        return address
    try:
        return f"{local}@{domain.encode('idna').decode('ascii')}"
    except UnicodeError:  # not a domain DNS could hold: compared as written
        return address


def well_formed(kind: str, answer: str) -> bool:
    """Whether a normalised answer could be right at all (four digits; an address with
    an @): one that cannot is asked again without taking one of the link's tries."""
    if kind == "email":
        return "@" in answer.strip("@")
    return len(answer) == 4
