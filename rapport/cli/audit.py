"""`journey audit ACCOUNT_ID [--json]`: every contact the account's journeys made, held
back or skipped, each with the rule pack and rule that decided it (rapport/client/audit.py)."""

from __future__ import annotations

import json

import click

from rapport.cli.app import fail, main, operate
from rapport.compliance.table import RULES_FOLDER, RuleBook, load_rulebook
from rapport.language.problems import DefinitionError
from rapport.runtime.settings import load_settings
from rapport.store.database import Store, StoreUnavailable
from rapport.store.deliveries import DeliveryLog


@main.command()
@click.argument("account_id")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def audit(account_id: str, as_json: bool) -> None:
    """Every message the account's journeys sent, held back or skipped, in time order,
    each with the rule pack and rule that decided it (and its citation), from the
    journeys' histories and the store's delivery log: for examiners and complaints."""
    from rapport.client import Journeys
    from rapport.client.audit import audit as read_audit

    settings = load_settings()
    store = Store(settings.store_url())
    try:
        store.ready()
    except StoreUnavailable as exc:
        fail([f"the store: {exc}"])
    try:
        book = load_rulebook(settings.journeys_dir / RULES_FOLDER)
    except DefinitionError:
        book = RuleBook()  # the audit names packs and rules without their citations

    async def action(journeys: Journeys) -> str:
        found = await read_audit(journeys.client, account_id, DeliveryLog(store), book)
        if as_json:
            return json.dumps(found.as_json(), indent=2, ensure_ascii=False)
        if not found.runs and not found.contacts:
            return f"no journeys and no deliveries for account {account_id}"
        return "\n".join(found.lines())

    operate(action)
