"""What keeps the portal safe to put on the internet: security headers on every page,
rate limits per token and per client address, the session after the identity check, and
a CSRF token on every form (bound to the link and the session)."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

from rapport.security.links import LinkSigner

SESSION_SECONDS = 30 * 60
MAX_CHECKS = 5  # failed identity checks before a link stops asking


def headers(form_targets: str = "") -> dict[str, str]:
    """No third-party scripts (no scripts at all), nothing cached, no framing, no referrer
    (the URL holds the token)."""
    targets = f"'self' {form_targets}".strip()
    return {
        "Cache-Control": "no-store",
        "Pragma": "no-cache",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Content-Security-Policy": (
            "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
            f"frame-ancestors 'none'; form-action {targets}"
        ),
    }


@dataclass
class RateLimit:
    """At most `limit` requests per `seconds` for each key, in this process (one web
    process per deployment unit; behind several, the limit is per process)."""

    limit: int
    seconds: float = 60.0
    _seen: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        seen = self._seen[key]
        while seen and seen[0] <= now - self.seconds:
            seen.popleft()
        if len(seen) >= self.limit:
            return False
        seen.append(now)
        if len(self._seen) > 100_000:  # forget quiet keys rather than grow without end
            for stale in [k for k, v in self._seen.items() if not v][:50_000]:
                del self._seen[stale]
        return True


@dataclass(frozen=True)
class Sessions:
    signer: LinkSigner

    def cookie(self, digest: str, now: float) -> str:
        expires = int(now) + SESSION_SECONDS
        return f"{expires}.{self.signer.mac('session', digest, str(expires))}"

    def valid(self, digest: str, cookie: str | None, now: float) -> bool:
        if not cookie or "." not in cookie:
            return False
        expires, _, mac = cookie.partition(".")
        return (
            expires.isdigit()
            and int(expires) > now
            and mac == self.signer.mac("session", digest, expires)
        )

    def csrf(self, digest: str, cookie: str | None) -> str:
        return self.signer.mac("csrf", digest, cookie or "before-check")
