"""An append-only file of JSON objects, one a line.

Appends take an exclusive `flock`, so several threads and processes can share one
file. With a `key`, an append whose key is already in the file is refused: that is
how the outbox delivers a message once per idempotency key. A line cut short by a
crash is skipped when read. The file is its owner's only (0600): it holds customer
data (the outbox holds messages).
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

Entry = dict[str, Any]


class JsonLines:
    def __init__(self, path: Path, key: Callable[[Entry], str] | None = None) -> None:
        self.path = path
        self.key = key
        self._lock = threading.Lock()
        self._keys: set[str] = set()
        self._offset = 0  # how far `_keys` has read the file

    def append(self, entry: Entry) -> bool:
        """Write `entry`; False (and nothing written) when its key is already there."""
        with self._lock:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            descriptor = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(descriptor, "a+", encoding="utf-8") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                if self.key is not None:
                    self._catch_up(handle)
                    key = self.key(entry)
                    if key in self._keys:
                        return False
                    self._keys.add(key)
                handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
                handle.flush()
                self._offset = handle.tell()
        return True

    def read(self) -> list[Entry]:
        if not self.path.exists():
            return []
        return _parse(self.path.read_text(encoding="utf-8"))

    def _catch_up(self, handle: Any) -> None:
        """Read what other writers appended since we last looked."""
        handle.seek(self._offset)
        text = handle.read()
        self._offset = handle.tell()
        assert self.key is not None
        self._keys.update(self.key(entry) for entry in _parse(text))


def _parse(text: str) -> list[Entry]:
    entries = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by a crash; whoever wrote it retries
        if isinstance(entry, dict):
            entries.append(entry)
    return entries
