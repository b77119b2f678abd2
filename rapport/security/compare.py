"""Comparing secrets: in constant time, on bytes, whatever arrives.

`hmac.compare_digest` raises on text that is not ASCII, so a forged header or form
field with one accented letter used to be a 500 with a traceback. `same` compares the
UTF-8 bytes of both sides instead: such text is simply not equal.
"""

from __future__ import annotations

import hmac


def same(given: str | bytes | None, expected: str | bytes) -> bool:
    """Whether `given` (from outside; None when absent) equals `expected`, in time that
    depends only on their lengths."""
    if given is None:
        return False
    return hmac.compare_digest(_raw(given), _raw(expected))


def _raw(value: str | bytes) -> bytes:
    # surrogatepass: lone surrogates (from a lenient decoder) are bytes too, never a crash
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
