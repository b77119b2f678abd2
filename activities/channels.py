"""Channels deliver rendered messages. Each is picked by channel name.

`Outbox` appends to a local JSON-lines file (the default for local runs; the
CLI shows it). `Capture` keeps messages in memory for simulations and tests.
Both honour the idempotency key: a redelivered activity is a no-op.
"""

from __future__ import annotations

import fcntl
import json
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal, Protocol

Receipt = Literal["delivered", "duplicate"]


class PermanentFailure(Exception):
    """The provider refused this message for good (bad number, rejected address):
    the step is skipped with this reason and the journey goes on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientFailure(Exception):
    """Worth retrying (connection error, timeout, 5xx, 429): `retry_after` seconds
    when the provider said how long to wait."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Outgoing:
    """A rendered message (or handoff task) ready for a channel."""

    key: str
    kind: Literal["message", "handoff"]
    channel: str
    account_id: str
    to: str
    at: str
    subject: str | None
    body: str
    step: str
    template: str


class Channel(Protocol):
    """Delivers one item; raises PermanentFailure or TransientFailure.

    `idempotent` is True when a redelivery with the same key cannot reach the
    customer twice (the provider or receiver honours the key)."""

    idempotent: bool

    async def deliver(self, item: Outgoing) -> Receipt: ...


class Capture:
    """Keeps every delivered item in memory, by idempotency key."""

    idempotent = True

    def __init__(self) -> None:
        self.items: dict[str, Outgoing] = {}

    async def deliver(self, item: Outgoing) -> Receipt:
        if item.key in self.items:
            return "duplicate"
        self.items[item.key] = item
        return "delivered"


class Outbox:
    """An append-only JSON-lines file; keys already in it are not written again."""

    idempotent = True

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._keys: set[str] | None = None

    async def deliver(self, item: Outgoing) -> Receipt:
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a+", encoding="utf-8") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                keys = self._known_keys()
                if item.key in keys:
                    return "duplicate"
                handle.write(json.dumps(asdict(item), ensure_ascii=False) + "\n")
                handle.flush()
                keys.add(item.key)
        return "delivered"

    def _known_keys(self) -> set[str]:
        if self._keys is None:
            self._keys = {entry["key"] for entry in read_outbox(self.path)}
        return self._keys


def read_outbox(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut short by a crash; the activity will retry it
    return entries


class ChannelRouter:
    """Which channel object serves which channel name; `*` serves the rest."""

    def __init__(self, routes: Mapping[str, Channel]) -> None:
        self.routes = dict(routes)

    def for_channel(self, name: str) -> Channel:
        route = self.routes.get(name) or self.routes.get("*")
        if route is None:
            raise LookupError(f"no channel is configured for {name!r}")
        return route
