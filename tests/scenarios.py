"""Run a journey against one customer on the time-skipping server, in a few lines.

timeline = await simulate_journey(env, tmp_path, JOURNEY, start="2028-03-01T06:10",
                                  events=[{"at": "+1d", "type": "cease_communication"}])
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from temporalio.testing import WorkflowEnvironment

from rapport.billing.sources import BalanceSource
from rapport.policy.schedule import spread_for
from rapport.providers.base import Provider
from rapport.simulation.runner import simulate_on
from rapport.simulation.scenario import load_scenario
from rapport.simulation.timeline import timeline
from tests.journey_files import write_journey

ACCOUNT: dict[str, Any] = {
    "account_id": "T-1",
    "customer": {
        "first_name": "Robin",
        "email": "robin@example.com",
        "phone": "+12125550100",
        "timezone": "America/New_York",
        "locale": "en-US",
    },
    "balance": "300.00",
    "currency": "USD",
    "days_past_due": 5,
    "history": {"tenure_months": 6, "missed_payments_12m": 1},
    "consent": {"email": True, "sms": True, "voice": True},
}


# A number that places the customer nowhere (area code 555): only the stated zone counts.
NOWHERE = "+15555550100"


def account(**changes: Any) -> dict[str, Any]:
    """The test account with top-level or `customer.x` / `history.x` keys changed.

    Robin's number is a New York one; moved to another time zone (`customer__timezone`)
    without a number of their own, Robin gets one that places them nowhere (`NOWHERE`):
    a New York number would make New York one of the zones they may be in, and its hours
    would hold too."""
    result: dict[str, Any] = yaml.safe_load(yaml.safe_dump(ACCOUNT))
    if "customer__timezone" in changes and "customer__phone" not in changes:
        result["customer"]["phone"] = NOWHERE
    for key, value in changes.items():
        if "__" in key:
            outer, inner = key.split("__")
            result[outer][inner] = value
        else:
            result[key] = value
    return result


async def simulate_journey(
    env: WorkflowEnvironment,
    folder: Path,
    definition: str,
    *,
    templates: Mapping[str, str | None] | None = None,
    customer: dict[str, Any] | None = None,
    start: str = "2028-03-01T09:00",
    days: int = 30,
    events: list[dict[str, Any]] | None = None,
    channels: Mapping[str, Provider] | None = None,
    billing: BalanceSource | None = None,
) -> dict[str, Any]:
    journey = write_journey(folder, definition, templates)
    scenario = {
        "journey": journey.name,
        "start": start,
        "days": days,
        "account": customer or account(),
        "events": events or [],
    }
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario))
    run = await simulate_on(env, load_scenario(path), channels, billing)
    return timeline(run)


def sent(timeline: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(step, channel, customer-local time) of every message."""
    return [(m["step"], m["channel"], m["at"]) for m in timeline["messages"]]


def opening(local_time: str, account_id: str = "T-1") -> str:
    """When a send deferred to a window opening at `local_time` goes: spread over the
    window's first minutes by a stable per-account offset (`spread_for`)."""
    moment = datetime.fromisoformat(local_time) + spread_for(account_id)
    return moment.isoformat()
