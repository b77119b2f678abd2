"""Providers that keep messages here: the outbox file and an in-memory capture.

`Outbox` appends to a local JSON-lines file (the default for local runs; `journey
outbox` shows it). `Capture` keeps messages in memory for simulations and tests.
Both honour the idempotency key: a redelivered activity is a no-op.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from rapport.providers.base import Outgoing, Receipt
from rapport.store.jsonl import JsonLines


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
        self.file = JsonLines(path, key=lambda entry: str(entry.get("key")))

    async def deliver(self, item: Outgoing) -> Receipt:
        return "delivered" if self.file.append(asdict(item)) else "duplicate"


def read_outbox(path: Path) -> list[dict[str, str]]:
    return JsonLines(path).read()


NEEDS: tuple[str, ...] = ()
SERVES = None  # any channel
