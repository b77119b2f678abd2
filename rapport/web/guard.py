"""What keeps the portal safe to put on the internet: the security headers every
response carries (`rapport.web.shield` adds them), rate limits per link and per client
address shared by every web process, the session after the identity check, and a CSRF
token on every form (bound to the link and the session). Every secret is compared in
constant time on bytes (`rapport.security.compare`)."""

from __future__ import annotations

import ipaddress
import threading
import time
from dataclasses import dataclass

from starlette.requests import Request

from rapport.security.compare import same
from rapport.security.links import LinkSigner
from rapport.store.limits import RateCounts
from rapport.store.links import token_hash

SESSION_SECONDS = 30 * 60
MAX_CHECKS = 5  # identity-check tries per link (a right answer gives its try back)
MAX_ACCOUNT_CHECKS = 10  # between all of an account's links (each message has its own)
WINDOW_SECONDS = 60


def headers(form_targets: str = "") -> dict[str, str]:
    """No third-party scripts (no scripts at all), nothing cached, no framing, no opener,
    no referrer (the URL holds the token)."""
    targets = f"'self' {form_targets}".strip()
    return {
        "Cache-Control": "no-store",
        "Pragma": "no-cache",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        # a page that opened ours (window.open) keeps no hold on it: it cannot send the
        # customer's tab to a look-alike page later (reverse tabnabbing)
        "Cross-Origin-Opener-Policy": "same-origin",
        "Content-Security-Policy": (
            "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
            f"frame-ancestors 'none'; form-action {targets}"
        ),
    }


def client_network(host: str) -> str:
    """What one client's limit is counted against: an IPv4 address, or an IPv6 address's
    /64 (one home or phone is given a whole /64, 2^64 addresses to rotate through: per
    address, the limit would bind no one). An IPv4 address written as IPv6 is itself."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


@dataclass(frozen=True)
class RateLimits:
    """At most `per_address` requests a minute from one client address (an IPv6 client's
    /64), and `per_token`
    for one link, counted in the store so every web process shares them. A link's key
    exists only once its token has named a live link: made-up tokens (however many)
    count against their sender's address alone. Keys are macs: the store keeps no
    address and no token."""

    counts: RateCounts
    signer: LinkSigner
    per_token: int = 60
    per_address: int = 300

    def allowed(self, request: Request, live_token: str | None = None) -> bool:
        """Count a request against its client's address and, when its token named a live
        link, that link; whether both are within their limits. One transaction in the
        store (blocking: call it in a thread)."""
        client = client_network(request.client.host if request.client else "-")
        keys = [(self.signer.mac("rate", "address", client), self.per_address)]
        if live_token is not None:
            keys.append((self.signer.mac("rate", "link", token_hash(live_token)), self.per_token))
        return self.counts.hit(keys, WINDOW_SECONDS, time.time())


RESERVE_SHARE = 100  # a process reserves at most a hundredth of a key's limit at a time
RESERVE_MAX = 20  # ... and at most this many requests


def reservation(limit: int) -> int:
    """How many of a key's requests a process counts in the store at once."""
    return max(1, min(RESERVE_MAX, limit // RESERVE_SHARE))


@dataclass
class _Reserved:
    bucket: int  # the window (unix seconds // WINDOW_SECONDS)
    left: int  # requests counted in the store and not served yet
    spent: bool  # the store's count reached the limit: nothing more this window


class Allowances:
    """Per-key limits (an API key's requests a minute) shared by every web process,
    counted in the store a few requests at a time: a process counts `reservation(limit)`
    of the key's requests of the current window in one write and serves them from
    memory (a write per request cost the API more than its own work). Between them the
    processes never serve more than the limit in a window; what a process has counted
    and not served is lost to the others until the window ends (at most
    `reservation(limit) - 1` per process: 5 of the default 600 a minute), and once the
    store's count reaches the limit a process refuses the rest of the window without
    asking again (a count only grows within its window). Memory: one entry per live
    key that has made requests."""

    def __init__(self, counts: RateCounts, signer: LinkSigner) -> None:
        self.counts, self.signer = counts, signer
        self._lock = threading.Lock()
        self._reserved: dict[tuple[str, str], _Reserved] = {}

    def allowed(self, kind: str, key: str, limit: int, now: float | None = None) -> int | None:
        """Count one request against `key` of `kind` (an API key's id); None when within
        `limit` a minute, else the seconds until the window ends (for Retry-After).
        Blocking when it counts in the store: call it in a thread."""
        now = time.time() if now is None else now
        bucket = int(now // WINDOW_SECONDS)
        with self._lock:
            held = self._reserved.get((kind, key))
            if held is None or held.bucket != bucket:
                held = self._reserved[(kind, key)] = _Reserved(bucket, 0, False)
            if held.left == 0 and not held.spent:
                n = reservation(limit)
                mac = self.signer.mac("rate", kind, key)
                counted = self.counts.reserve(mac, n, WINDOW_SECONDS, now)
                held.left = max(0, min(n, limit - (counted - n)))
                held.spent = counted >= limit
            if held.left > 0:
                held.left -= 1
                return None
        return max(1, WINDOW_SECONDS - int(now) % WINDOW_SECONDS)


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
            expires.isascii()
            and expires.isdigit()
            and len(expires) <= 12
            and int(expires) > now
            and same(mac, self.signer.mac("session", digest, expires))
        )

    def csrf(self, digest: str, cookie: str | None) -> str:
        return self.signer.mac("csrf", digest, cookie or "before-check")

    def csrf_ok(self, digest: str, cookie: str | None, given: object) -> bool:
        """Whether a form's `csrf` field is the one its page carried."""
        return isinstance(given, str) and same(given, self.csrf(digest, cookie))
