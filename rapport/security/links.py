"""Personal self-service links, signed so that nobody can forge or alter one.

A link is `{base}/{action}?account=...&expires=...&sig=...` where `sig` is
HMAC-SHA256 over account, action and expiry with the link secret. The
verifier rejects a link whose signature does not match or that has expired.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

from rapport.language.context import LINK_NAMES

ACTIONS = LINK_NAMES
LINK_LIFETIME = timedelta(days=30)


class InvalidLink(ValueError):
    pass


@dataclass(frozen=True)
class LinkSigner:
    base_url: str
    secret: str

    def sign(self, account_id: str, action: str, expires: datetime) -> str:
        if action not in ACTIONS:
            raise ValueError(f"unknown link action {action!r}")
        stamp = int(expires.timestamp())
        query = urlencode({"account": account_id, "expires": stamp,
                           "sig": self._signature(account_id, action, stamp)})
        return f"{self.base_url.rstrip('/')}/{action}?{query}"

    def token(self, purpose: str, message_key: str) -> str:
        """An opaque token for one message's link: 96 bits, 16 characters, the same on
        every retry of the message (it is derived from its idempotency key with the link
        secret), unguessable without the secret."""
        mac = hmac.new(self.secret.encode(), f"{purpose}:{message_key}".encode(),
                       hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:12]).decode()

    def links(self, account_id: str, expires: datetime) -> dict[str, str]:
        return {action: self.sign(account_id, action, expires) for action in ACTIONS}

    def verify(self, url: str, now: datetime | None = None) -> tuple[str, str]:
        """Return (account_id, action) of a genuine, unexpired link; raise InvalidLink."""
        parts = urlsplit(url)
        action = parts.path.rstrip("/").rsplit("/", 1)[-1]
        query = parse_qs(parts.query)
        try:
            account_id = query["account"][0]
            stamp = int(query["expires"][0])
            signature = query["sig"][0]
        except (KeyError, ValueError, IndexError):
            raise InvalidLink("link is incomplete") from None
        expected = self._signature(account_id, action, stamp)
        if not hmac.compare_digest(signature, expected):
            raise InvalidLink("link signature does not match")
        if (now or datetime.now(UTC)).timestamp() > stamp:
            raise InvalidLink("link has expired")
        return account_id, action

    def _signature(self, account_id: str, action: str, stamp: int) -> str:
        message = f"{account_id}\n{action}\n{stamp}".encode()
        return hmac.new(self.secret.encode(), message, hashlib.sha256).hexdigest()[:32]
