"""Log lines: one per event, for people (`plain`) or machines (`json`).

A line says what happened and to which account and journey; it never holds a
customer's name, address or a message body: only the fields named in `FIELDS` are
written, whatever a caller passes along.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any, Literal

LogFormat = Literal["plain", "json"]
FIELDS = (
    "account_id",
    "journey",
    "step",
    "segment",
    "channel",
    "reason",
    "template",
    "key",
    "occurrence",
    "outcome",
    "signal",
    "where",
    "workflow_id",
    "run_id",
    "activity",
)


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    found = {
        name: getattr(record, name)
        for name in FIELDS
        if getattr(record, name, None) not in (None, "")
    }
    workflow = getattr(record, "temporal_workflow", None) or {}
    activity = getattr(record, "temporal_activity", None) or {}
    for source, names in (
        (workflow, ("workflow_id", "run_id")),
        (activity, ("workflow_id", "activity_type")),
    ):
        for name in names:
            if source.get(name):
                found.setdefault("activity" if name == "activity_type" else name, source[name])
    return found


# One line per event, whatever a value holds: a signal's name comes from any sender, and
# a line break in it would forge the next line of the log.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        extra = " ".join(f"{k}={v}" for k, v in fields_of(record).items())
        line = (
            f"{self.formatTime(record)} {record.levelname} {record.name}: "
            f"{record.getMessage()}" + (f" {extra}" if extra else "")
        )
        if record.exc_info:
            line += f" error={record.exc_info[0].__name__ if record.exc_info[0] else '?'}"
        return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", line)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
            **fields_of(record),
        }
        if record.exc_info and record.exc_info[0]:
            line["error"] = record.exc_info[0].__name__
        return json.dumps(line, default=str)


def configure(log_format: LogFormat = "plain", level: int = logging.INFO) -> None:
    """One handler on the root logger; the HTTP client's chatter kept down."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else PlainFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)
