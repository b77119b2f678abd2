"""Problems found in a designer's file, reported as `FILE:LINE: field.path: message`.

An error stops a journey from running; a warning (`FILE:LINE: field.path: warning:
message`) is something the designer should look at, and does not.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Path = tuple[str | int, ...]
Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    field: str
    message: str
    severity: Severity = "error"

    @property
    def is_warning(self) -> bool:
        return self.severity == "warning"

    def __str__(self) -> str:
        marker = "warning: " if self.is_warning else ""
        return f"{self.file}:{self.line}: {self.field}: {marker}{self.message}"


class DefinitionError(Exception):
    """Raised with every problem found, never just the first (warnings included, so a
    designer sees them beside the errors)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def format_path(path: Path) -> str:
    """('steps', 2, 'send', 'channel') -> 'steps[2].send.channel'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(document)"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """'; did you mean 'reminder'?' when a choice is close to `word`, else ''."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.55)
    return f"; did you mean {close[0]!r}?" if close else ""


def quoted(value: object, limit: int = 60) -> str:
    """A designer's value as a message repeats it: `'7 days'`, `0`, `[]`, shortened."""
    text = repr(value) if not isinstance(value, bool) else str(value).lower()
    return text if len(text) <= limit else text[: limit - 4] + "...'"
