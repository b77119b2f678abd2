"""How deep a request or a file's row may nest its JSON: a journey's input nested past
what the worker's JSON parser reads (200 levels in all) could never be started, so the
HTTP API and `journey import` refuse it, well inside that, naming where."""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 64  # levels of JSON a request or a row may nest


def too_deep(data: Any, limit: int = MAX_DEPTH) -> str | None:
    """Where `data` nests past `limit` levels (its field path, cut short), or None."""
    stack: list[tuple[Any, int, tuple[str, ...]]] = [(data, 0, ())]
    while stack:  # (the path kept to its first three parts: all a refusal names)
        value, depth, path = stack.pop()
        if depth > limit:
            return ".".join(path) + "..."
        if isinstance(value, dict):
            stack += [
                (v, depth + 1, path if len(path) >= 3 else (*path, str(k)))
                for k, v in value.items()
            ]
        elif isinstance(value, list):
            stack += [
                (v, depth + 1, path if len(path) >= 3 else (*path, str(i)))
                for i, v in enumerate(value)
            ]
    return None
