"""API keys for the HTTP API: `journey api-key create NAME` prints a key once; the store
keeps its id, its name and a SHA-256 of its secret part (a key is 256 random bits, so a
fast hash is as good as a slow one and costs a request nothing). A request carries it as
`Authorization: Bearer rk_<id>_<secret>`; it is compared in constant time."""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from rapport.security.compare import same
from rapport.store.intake import ApiKey, ApiKeys

PREFIX = "rk_"
_KEY = re.compile(r"^rk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
NAME = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_ID = re.compile(r"^[0-9a-f]{12}$")


@dataclass(frozen=True)
class NewKey:
    key: str
    """The whole key: shown once, never kept."""
    key_id: str
    name: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create(keys: ApiKeys, name: str, per_minute: int | None = None) -> NewKey:
    """A new key; `per_minute`: its own rate limit (default: RAPPORT_API_REQUESTS_PER_KEY)."""
    if not NAME.match(name):
        raise ValueError(f"{name!r}: a key's name is 1-64 of A-Z a-z 0-9 . _ -")
    if _ID.match(name):  # `revoke` takes a name or an id: it would revoke two keys
        raise ValueError(f"{name!r} reads as a key's id (12 hex digits): choose another name")
    if per_minute is not None and per_minute < 1:
        raise ValueError("--per-minute: at least 1")
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    keys.add(key_id, name, _hash(secret), datetime.now(UTC), per_minute)
    return NewKey(f"{PREFIX}{key_id}_{secret}", key_id, name)


def verify(keys: ApiKeys, authorization: str | None) -> ApiKey | None:
    """The live key an `Authorization: Bearer ...` header carries, or None (read from the
    store)."""
    parsed = _parsed(authorization)
    return _live(keys.get(parsed[0]), parsed[1]) if parsed else None


def _parsed(authorization: str | None) -> tuple[str, str] | None:
    """(key id, secret) from `Bearer rk_<id>_<secret>`, else None."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer":  # the scheme is case-insensitive (RFC 9110, 11.1)
        return None
    match = _KEY.match(token.strip())
    return (match.group(1), match.group(2)) if match else None


def _live(found: ApiKey | None, secret: str) -> ApiKey | None:
    if found is None or found.revoked_at is not None:
        return None
    return found if same(found.secret_hash, _hash(secret)) else None


FRESH = 1.0  # seconds a key read from the store is trusted (a revocation's delay)


class KeyCheck:
    """`verify` for the web app: a key read from the store is kept for `FRESH` seconds,
    so a billing system's requests do not read it each time (a read per request cost the
    API more than its own work). A revoked key is refused by every process within
    `FRESH` seconds of `journey api-key revoke`; a new key works at once (an id the store
    does not know is never kept: memory holds at most the store's keys). The secret is
    compared, in constant time, on every request."""

    def __init__(
        self,
        keys: ApiKeys,
        fresh: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.keys, self.clock = keys, clock
        self.fresh = FRESH if fresh is None else fresh
        self._read: dict[str, tuple[float, ApiKey]] = {}

    def verify(self, authorization: str | None) -> ApiKey | None:
        """The live key the header carries, or None. Blocking when it reads the store:
        call it in a thread."""
        parsed = _parsed(authorization)
        if parsed is None:
            return None
        key_id, secret = parsed
        now = self.clock()
        kept = self._read.get(key_id)
        if kept is None or now - kept[0] > self.fresh:
            found = self.keys.get(key_id)
            if found is None:
                self._read.pop(key_id, None)
                return None
            kept = self._read[key_id] = (now, found)
        return _live(kept[1], secret)

    def knows(self, authorization: str | None) -> bool:
        """Whether the header carries a live key this process read from the store, with
        its secret (from memory only, never the store): a request that does is no key
        guesser's, and a limit on an address's failed requests must not refuse it (a
        billing system behind the same address as an attacker, or a proxy's)."""
        parsed = _parsed(authorization)
        kept = self._read.get(parsed[0]) if parsed else None
        return parsed is not None and kept is not None and _live(kept[1], parsed[1]) is not None
