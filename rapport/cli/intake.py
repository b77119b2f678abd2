"""For billing systems that would rather not speak Temporal: `journey api-key` (the HTTP
API's keys) and `journey import FILE` (a daily file of delinquent accounts)."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from rapport.cli.app import fail, main
from rapport.runtime.settings import load_settings
from rapport.store.database import Store, StoreUnavailable
from rapport.store.intake import ApiKeys, NameTaken


def open_keys() -> ApiKeys:
    settings = load_settings()
    store = Store(settings.store_url())
    try:
        store.ready(settings.address_sealer())
    except StoreUnavailable as exc:
        fail([f"the store: {exc}"])
    return ApiKeys(store)


@main.group(name="api-key")
def api_key() -> None:
    """Keys for the HTTP API (/v1/...): each billing system its own."""


@api_key.command()
@click.argument("name")
@click.option(
    "--per-minute",
    type=int,
    default=None,
    help="Its rate limit: requests a minute (default: RAPPORT_API_REQUESTS_PER_KEY, 600).",
)
def create(name: str, per_minute: int | None) -> None:
    """Make a key named NAME and print it, once: the store keeps only its hash."""
    from rapport.intake import keys

    try:
        made = keys.create(open_keys(), name, per_minute)
    except (ValueError, NameTaken, StoreUnavailable) as exc:
        fail([str(exc)])
    click.echo(made.key)
    click.echo(
        f"API key {made.name} ({made.key_id}): shown this once, keep it secret. "
        "Send it as Authorization: Bearer KEY.",
        err=True,
    )


@api_key.command(name="list")
def list_keys() -> None:
    """Every key: its id, name, when it was made and whether it is revoked (never the key)."""
    found = open_keys().all()
    if not found:
        click.echo("no API keys: journey api-key create NAME")
        return
    for key in found:
        state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M} UTC" if key.revoked_at else "live"
        click.echo(
            f"{key.key_id}  {key.name:<24} created {key.created_at:%Y-%m-%d %H:%M} UTC  {state}"
        )


@api_key.command()
@click.argument("name_or_id")
def revoke(name_or_id: str) -> None:
    """Revoke a key by its name or id: its next request gets 401."""
    if not open_keys().revoke(name_or_id, datetime.now(UTC)):
        fail([f"no live API key is named or has the id {name_or_id!r} (journey api-key list)"])
    click.echo(f"API key {name_or_id} revoked")
