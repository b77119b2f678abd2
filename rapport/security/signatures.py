"""Signing our webhooks, and verifying them (for receivers, and for our tests).

Headers on every webhook we send:

    Idempotency-Key: <the message's key; the same on every retry>
    X-Rapport-Timestamp: <unix seconds>
    X-Rapport-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>

A receiver recomputes the HMAC over the timestamp and the raw body, compares in
constant time, and rejects timestamps older than its tolerance (5 minutes).
"""

from __future__ import annotations

import hashlib
import hmac
import time

TOLERANCE_SECONDS = 300


class BadSignature(ValueError):
    pass


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def signed_headers(secret: str, key: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = int(now if now is not None else time.time())
    return {
        "Content-Type": "application/json",
        "Idempotency-Key": key,
        "X-Rapport-Timestamp": str(timestamp),
        "X-Rapport-Signature": signature(secret, timestamp, body),
    }


def verify(secret: str, headers: dict[str, str], body: bytes, now: float | None = None) -> None:
    """Raise BadSignature unless the body was signed with `secret` recently."""
    try:
        timestamp = int(headers["X-Rapport-Timestamp"])
        given = headers["X-Rapport-Signature"]
    except (KeyError, ValueError):
        raise BadSignature("missing or malformed signature headers") from None
    if abs((now if now is not None else time.time()) - timestamp) > TOLERANCE_SECONDS:
        raise BadSignature("timestamp outside the tolerance")
    if not hmac.compare_digest(given, signature(secret, timestamp, body)):
        raise BadSignature("signature does not match")
