"""Pinned journeys by content hash, in this process: what the workflow reads.

A worker fills it when it pins a journey, and on a miss asks the archive it
installed at start (`install`). Reading is deterministic however it is served: the
content of a hash never changes, so this is like importing code, not like I/O that
could answer differently on replay.

The workflow reads with `loaded`, which never does I/O in the workflow's thread: on a
miss it asks the worker to fetch the definition in the background (`install`'s
`prefetch`) and raises `DefinitionNotLoaded`, which fails that workflow task; Temporal
retries it, by when the definition is here. Activities and the CLI read with `pinned`,
which fetches at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from rapport.catalog.pinned import PinnedJourney

Fetch = Callable[[str], PinnedJourney | None]
Prefetch = Callable[[str], None]

_pinned: dict[str, PinnedJourney] = {}
_lock = threading.Lock()
_fetch: Fetch | None = None
_prefetch: Prefetch | None = None


class DefinitionMissing(LookupError):
    """No worker archive has this hash: the journey cannot run here (yet)."""


class DefinitionNotLoaded(LookupError):
    """Not in this process yet: being fetched off the workflow's thread; try again."""


def install(fetch: Fetch | None, prefetch: Prefetch | None = None) -> None:
    """Where a miss looks (the store's archive on a worker), and how a worker fetches a
    definition in the background for the workflow (None: `loaded` fetches at once, as
    the replay tests do with an archive in memory)."""
    global _fetch, _prefetch
    _fetch, _prefetch = fetch, prefetch


def loaded(content_hash: str) -> PinnedJourney:
    """For workflow code: the definition if this process has it. On a miss the worker
    fetches it in the background and this raises DefinitionNotLoaded (the workflow task
    fails and is retried); no I/O on the caller's thread."""
    found = _pinned.get(content_hash)
    if found is not None:
        return found
    if _prefetch is None:
        return pinned(content_hash)
    _prefetch(content_hash)
    raise DefinitionNotLoaded(f"definition {content_hash} is being fetched; retrying")


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
