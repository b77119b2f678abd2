"""Pinned journeys by content hash, in this process: what the workflow reads.

A worker fills it when it pins a journey, and on a miss asks the archive it
installed at start (`install`). Reading is deterministic however it is served: the
content of a hash never changes, so this is like importing code, not like I/O that
could answer differently on replay.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from rapport.catalog.pinned import PinnedJourney

Fetch = Callable[[str], PinnedJourney | None]

_pinned: dict[str, PinnedJourney] = {}
_lock = threading.Lock()
_fetch: Fetch | None = None


class DefinitionMissing(LookupError):
    """No worker archive has this hash: the journey cannot run here (yet)."""


def install(fetch: Fetch | None) -> None:
    """Where a miss looks (the store's archive on a worker)."""
    global _fetch
    _fetch = fetch


def remember(journey: PinnedJourney) -> None:
    with _lock:
        _pinned.setdefault(journey.pin.hash, journey)


def pinned(content_hash: str) -> PinnedJourney:
    found = _pinned.get(content_hash)
    if found is not None:
        return found
    fetched = _fetch(content_hash) if _fetch is not None else None
    if fetched is None:
        raise DefinitionMissing(f"no definition with hash {content_hash} in the archive")
    remember(fetched)
    return fetched


def forget() -> None:
    """Empty this process's registry (tests: prove a definition is found by hash alone)."""
    with _lock:
        _pinned.clear()
