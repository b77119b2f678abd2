"""Commands on the store: `journey db upgrade`, `journey consent` to read a customer's
consent record or correct it, and `journey links revoke` to kill an account's links."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import click

from rapport.channels import CHANNELS, NAMES
from rapport.channels.addresses import BadAddress, normalised
from rapport.cli.app import fail, main, open_store
from rapport.consent.book import ALL, Action, ConsentBook
from rapport.runtime.settings import load_settings
from rapport.store.addresses import known_addresses
from rapport.store.consent import ConsentEntry
from rapport.store.database import Store, StoreUnavailable
from rapport.store.links import LinkBook

ACTIONS = ("opt_out", "opt_in", "cease")


def open_book() -> ConsentBook:
    store = open_store()
    return ConsentBook(store)


@main.group()
def db() -> None:
    """The store (RAPPORT_DATABASE_URL; a SQLite file under data/ by default)."""


@db.command()
def upgrade() -> None:
    """Apply the store's migrations not applied yet."""
    settings = load_settings()
    store = Store(settings.store_url())
    click.echo(f"store at revision {store.upgrade(settings.address_sealer())}")


def record_signal(account_id: str, event: str, values: dict[str, Any]) -> None:
    """`journey signal ... opt_out|cease_communication` is kept in the store first, so it
    holds for the account's later journeys too."""
    if event == "cease_communication":
        _record(open_book(), account_id, "cease", ALL, [])
    elif event == "opt_out" and isinstance(values.get("channel"), str):
        _record(open_book(), account_id, "opt_out", values["channel"], [])


@main.command()
@click.argument("account_id")
@click.option(
    "--address",
    "addresses",
    multiple=True,
    help="A phone number or email address of the account the store may not know yet "
    "(repeatable); every address the store knows is shown anyway.",
)
@click.option(
    "--record",
    "action",
    type=click.Choice(ACTIONS),
    default=None,
    help="Add an entry (source: operator), e.g. to correct a record.",
)
@click.option("--channel", default=None, help="The entry's channel (default: all).")
@click.option("--json", "as_json", is_flag=True)
def consent(
    account_id: str,
    addresses: tuple[str, ...],
    action: str | None,
    channel: str | None,
    as_json: bool,
) -> None:
    """A customer's consent record: every address the store knows for the account with
    its entries, and what each channel may carry for the account as a whole."""
    book = open_book()
    if action is not None:
        _record(book, account_id, action, channel or ALL, _addresses(addresses))
    try:
        known = known_addresses(book.store, account_id, load_settings().address_sealer())
        for address in _addresses(addresses):
            known.setdefault(address, []).append("--address")
        entries = book.entries(account_id, tuple(known))
        standing = {name: _standing(book, account_id, name, list(known)) for name in NAMES}
    except StoreUnavailable as exc:
        fail([str(exc)])
    summary = {name: said.summary() for name, said in standing.items()}
    if as_json:
        click.echo(
            json.dumps(
                {
                    "account_id": account_id,
                    "addresses": list(known),
                    "channels": summary,
                    "by_address": {
                        name: said.by_address for name, said in standing.items() if said.by_address
                    },
                    "known_from": known,
                    "entries": [_entry(e) for e in entries],
                },
                indent=2,
            )
        )
        return
    click.echo(f"consent of {account_id}: what each channel may carry for the account")
    for name, text in summary.items():
        click.echo(f"  {name:<7} {text}")
    click.echo("addresses the store knows:" if known else "addresses the store knows: none")
    for address, where in known.items():
        own = [e for e in entries if e.address == address]
        click.echo(f"  {address}  (from {', '.join(where)})" + ("" if own else "  no entries"))
        for e in own:
            click.echo(f"    {_line(e)}")
    account_entries = [e for e in entries if e.address is None]
    click.echo("account entries:" if account_entries else "account entries: none")
    for e in account_entries:
        click.echo(f"    {_line(e)}")


def _line(e: ConsentEntry) -> str:
    return (
        f"{e.at.isoformat()}  {e.action:<8} {e.channel:<6} {e.source}  {e.reference or ''}"
    ).rstrip()


def _addresses(given: tuple[str, ...]) -> list[str]:
    kept = []
    for address in given:
        value = normalised(address)
        if value is None:
            fail(
                [
                    f"--address {address!r}: neither a phone number in international form "
                    "nor an email address"
                ]
            )
        kept.append(value)
    return kept


def _record(
    book: ConsentBook, account_id: str, action: str, channel: str, addresses: list[str]
) -> None:
    if channel != ALL and channel not in NAMES:
        fail([f"--channel {channel!r}: one of {', '.join(NAMES)} or all"])
    chosen: Action = action  # type: ignore[assignment]
    try:
        book.record(chosen, channel, "operator", account_id=account_id)
        for address in addresses:
            book.record(chosen, channel, "operator", address=address)
    except (StoreUnavailable, BadAddress) as exc:
        fail([str(exc)])


@dataclass(frozen=True)
class Standing:
    """What a channel may carry: the account's own answer, and each address's."""

    account: str  # `allowed`, or why not
    by_address: dict[str, str]

    def summary(self) -> str:
        if self.account != "allowed":
            return self.account
        refused = {a: why for a, why in self.by_address.items() if why != "allowed"}
        if not refused:
            return "allowed"
        if len(refused) == len(self.by_address):
            return "; ".join(f"{why} ({a})" for a, why in refused.items())
        allowed = [a for a in self.by_address if a not in refused]
        return (
            "; ".join(f"{why} ({a})" for a, why in refused.items())
            + f"; allowed to {', '.join(allowed)}"
        )


def _standing(book: ConsentBook, account_id: str, channel: str, addresses: list[str]) -> Standing:
    """The account's own entries, then each address of the channel's kind (a phone for
    texts and calls, an email address for emails)."""
    alone = book.refusal(account_id, channel, None)
    kind = CHANNELS[channel].address[-1]
    fitting = [
        a for a in addresses if ("@" in a) == (kind == "email") and kind in ("email", "phone")
    ]
    by_address = {}
    for address in fitting:
        refusal = book.refusal(account_id, channel, address)
        by_address[address] = refusal.detail() if refusal is not None else "allowed"
    return Standing(alone.detail() if alone is not None else "allowed", by_address)


def _entry(e: ConsentEntry) -> dict[str, Any]:
    return {
        "at": e.at.isoformat(),
        "action": e.action,
        "channel": e.channel,
        "account_id": e.account_id,
        "address": e.address,
        "source": e.source,
        "reference": e.reference,
    }


@main.group()
def links() -> None:
    """The links messages carry to the portal and the one-click unsubscribe."""


@links.command()
@click.argument("account_id")
def revoke(account_id: str) -> None:
    """Revoke every live link of an account: each then answers 404, like a forged one.
    Messages sent later carry new links."""
    book = open_book()
    count = LinkBook(book.store).revoke(account_id, datetime.now(UTC))
    click.echo(f"revoked {count} link{'s' if count != 1 else ''} of account {account_id}")
