"""How an HTTP provider's answer maps onto retry or skip."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

import httpx

from rapport.providers.base import PermanentFailure, TransientFailure

# Not the message's fault: retry (and let an operator fix credentials meanwhile).
_TRANSIENT = {401, 403, 404, 408, 409, 423, 425, 429}


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header (a number or an HTTP date)."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    date_header = response.headers.get("Date")
    now = parsedate_to_datetime(date_header) if date_header else None
    return max(0.0, (moment - now).total_seconds()) if now else None


def raise_for_delivery(response: httpx.Response, provider: str) -> None:
    """Return for 2xx; raise TransientFailure or PermanentFailure otherwise."""
    status = response.status_code
    if 200 <= status < 300:
        return
    detail = f"{provider} {status}: {response.text[:200]}"
    if status >= 500 or status in _TRANSIENT:
        raise TransientFailure(detail, retry_after(response))
    raise PermanentFailure(detail)
