"""How deep a request or a file's row may nest its JSON: a journey's input nested past
what the worker's JSON parser reads (200 levels in all) could never be started, so the
HTTP API and `journey import` refuse it, well inside that, naming where."""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 64  # levels of JSON a request or a row may nest


def too_deep(data: Any, limit: int = MAX_DEPTH) -> str | None:
    """Where `data` nests past `limit` levels (its field path, cut short), or None."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if len(path) > limit:
            return ".".join(path[:3]) + "..."
        if isinstance(value, dict):
            stack += [(v, (*path, str(k))) for k, v in value.items()]
        elif isinstance(value, list):
            stack += [(v, (*path, str(i))) for i, v in enumerate(value)]
    return None
