"""Log lines: one per event, JSON for machines, and never a name, an address or a body."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from rapport.providers.base import Outgoing, PermanentFailure, Receipt
from rapport.runtime.logs import JsonFormatter, PlainFormatter
from tests.scenarios import simulate_journey

JOURNEY = """\
id: logged
version: 1
name: Logged
steps:
  - {id: nudge, send: {channel: sms, template: nudge}}
  - {id: pause, wait: 1d}
  - {id: mail, send: {channel: email, template: reminder}}
"""
PRIVATE = ("Robin", "robin@example.com", "2125550100", "Still $300.00")


class Refusing:
    """A provider whose refusal quotes the customer, as real ones do."""

    idempotent = True

    async def deliver(self, item: Outgoing) -> Receipt:
        raise PermanentFailure(f"550 no mailbox {item.to} for {item.body}")


class Lines(logging.Handler):
    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(formatter)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


async def test_log_lines_say_what_happened_and_never_to_whom(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    as_json, plain = Lines(JsonFormatter()), Lines(PlainFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(as_json)
    root.addHandler(plain)
    root.setLevel(logging.INFO)
    try:
        await simulate_journey(env, tmp_path, JOURNEY, days=2, channels={"email": Refusing()})
    finally:
        root.removeHandler(as_json)
        root.removeHandler(plain)
        root.setLevel(level)
    events = [json.loads(line) for line in as_json.lines]  # every line is one JSON object
    assert all("\n" not in line for line in as_json.lines + plain.lines)
    journey = [e for e in events if e.get("journey") == "logged"]
    assert {"journey started", "sent", "skipped", "journey ended"} <= {e["event"] for e in journey}
    assert all(e["account_id"] == "T-1" and "workflow_id" in e for e in journey)
    for line in as_json.lines + plain.lines:
        assert not any(private in line for private in PRIVATE), line
        assert "temporal_workflow" not in line
        assert "'attempt':" not in line
