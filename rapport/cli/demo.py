"""`make run`'s demo: a journey for each account in examples/accounts, and a guide."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path

from temporalio.client import Client
from temporalio.service import RPCError

from rapport.catalog.library import expected
from rapport.client import Journeys
from rapport.contract.names import workflow_id
from rapport.language.account import Account
from rapport.language.loader import validate_model
from rapport.language.yaml_source import load_yaml
from rapport.providers.outbox import read_outbox
from rapport.runtime.settings import Settings

ACCOUNTS = Path("examples/accounts")
DEMO_ACCOUNT = "DEMO-NOW"
PORTAL_LINK = re.compile(r"https?://\S+/r/[A-Za-z0-9_-]{16}")


def midday_zone(now: datetime | None = None) -> str:
    """A fixed-offset IANA zone where it is about noon now."""
    hour = (now or datetime.now(UTC)).hour
    offset = max(-12, min(14, 12 - hour))
    return f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"


def demo_accounts() -> list[Account]:
    """The example accounts, plus one whose clock says midday, so that a message goes out
    within seconds whatever the time (the examples' customers may be asleep). Its phone
    number places it nowhere: a New York number would hold it to New York's hours too."""
    accounts: list[Account] = [
        validate_model(Account, load_yaml(path)) for path in sorted(ACCOUNTS.glob("*.yaml"))
    ]
    # the pre-due journey contacts every day of the week
    now = validate_model(Account, load_yaml(ACCOUNTS / "due_soon.yaml")).model_copy(deep=True)
    now.account_id = DEMO_ACCOUNT
    now.customer.first_name = "Noor"
    now.customer.email = "noor@example.com"
    now.customer.timezone = midday_zone()
    now.customer.phone = "+15555550123"  # a number that places Noor nowhere: her zone counts
    return [*accounts, now]


async def start_demo(client: Client, settings: Settings, ui: str | None) -> str:
    journeys = Journeys(client, settings)
    started, kept = [], []
    for account in demo_accounts():
        if await _exists(client, account.account_id):
            kept.append(account.account_id)
            continue
        await journeys.start(account, expected=expected(settings.journeys_dir, None, account))
        started.append(account.account_id)
    return guide(settings, ui, started, kept, await demo_link(settings))


async def demo_link(settings: Settings, within: float = 20.0) -> str | None:
    """The portal link in the demo customer's latest message, once the worker sent it,
    with what the page asks for before it shows more."""
    deadline = asyncio.get_running_loop().time() + within
    while asyncio.get_running_loop().time() < deadline:
        for entry in reversed(read_outbox(settings.outbox_path)):
            found = PORTAL_LINK.search(str(entry.get("body", "")))
            if entry.get("account_id") == DEMO_ACCOUNT and found:
                answer = (
                    str(entry.get("to", ""))
                    if entry.get("channel") == "email"
                    else re.sub(r"\D", "", str(entry.get("to", "")))[-4:]
                )
                return f"{found.group(0)}  (it asks for: {answer})"
        await asyncio.sleep(0.5)
    return None


async def _exists(client: Client, account_id: str) -> bool:
    try:
        await client.get_workflow_handle(workflow_id(account_id)).describe()
    except RPCError:
        return False
    return True


def encryption_line(settings: Settings) -> str:
    if settings.encryption_keys is not None:
        return "  customer data:     encrypted in Temporal (RAPPORT_ENCRYPTION_KEYS)"
    if settings.dev_key_file.exists():
        return (
            f"  customer data:     encrypted in Temporal with the development key "
            f"{settings.dev_key_file}; the UI decrypts through {settings.portal_url}/codec"
        )
    return "  customer data:     NOT encrypted in Temporal (set RAPPORT_ENCRYPTION_KEYS)"


def guide(
    settings: Settings, ui: str | None, started: list[str], kept: list[str], link: str | None = None
) -> str:
    example = (started or kept or ["A-1001"])[0]
    lines = [
        "",
        "Rapport is running.",
        f"  Temporal web UI:   {ui or settings.temporal_address}",
        f"  demo journeys:     started {', '.join(started) or 'none'}"
        + (f"; already there: {', '.join(kept)}" if kept else ""),
        f"  messages appear in {settings.outbox_path} (see them with: .venv/bin/journey outbox)",
        f"  web app:           {settings.portal_url}",
        f"  a customer's link: {link or '(not sent yet: see the outbox)'}",
        f"    open it, pay with the dev provider's Pay button, and watch {DEMO_ACCOUNT} end "
        "paid in the UI",
        encryption_line(settings),
        "",
        "In another terminal:",
        "  .venv/bin/journey list                          every journey, with step and balance",
        f"  .venv/bin/journey status {example}                where one journey is",
        f"  .venv/bin/journey pay {example} 50.00             report a payment",
        f"  .venv/bin/journey signal {example} opt_out channel=sms",
        f"  .venv/bin/journey signal {example} pause          (resume, cease_communication, ...)",
        "",
        "Ctrl-C stops the server and the worker; `make run` again picks the journeys up.",
    ]
    return "\n".join(lines)
