"""Commands for upgrades: `journey replay-check` before a new worker version is made
current, `journey migrate` to move running journeys to another version of their
definition (docs/operating.md, "Upgrading")."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import click
from sqlalchemy.exc import SQLAlchemyError

from rapport.cli.app import exit_now, main, quiet_temporal_logs
from rapport.runtime.settings import load_settings

if TYPE_CHECKING:
    from rapport.catalog.pinned import PinnedJourney
    from rapport.client.migrations import Move


@main.command(name="replay-check")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Replay at most this many journeys, the most recently started first.",
)
def replay_check(limit: int) -> None:
    """Replay the histories of running journeys, and of those closed in the last 7 days,
    on the code installed here; exit 1 naming each journey that would not replay. Run it
    where the new version's workers run (same code, keys and store), before making it
    current."""
    from rapport.catalog import registry
    from rapport.catalog.archive import StoreArchive
    from rapport.runtime import replay
    from rapport.runtime.temporal import connect, quiet_runtime
    from rapport.runtime.versions import deployment_version, label
    from rapport.store.database import Store, StoreUnavailable

    quiet_temporal_logs()
    settings = load_settings()
    store = Store(settings.store_url())
    try:
        store.ready()  # the pinned definitions the histories name by hash
    except (StoreUnavailable, SQLAlchemyError) as exc:
        exit_now(1, [f"the store: {exc}"])
    registry.install(StoreArchive(store).load)
    build = label(deployment_version(settings))

    async def go() -> replay.ReplayReport:
        return await replay.replay_check(
            await connect(settings, quiet_runtime(), worker=True), limit
        )

    try:
        report = asyncio.run(go())
    except RuntimeError as exc:  # the SDK's connection failure
        exit_now(1, [f"cannot reach Temporal at {settings.temporal_address}: {exc}"])
    if report.failures:
        click.echo(
            f"{len(report.failures)} of {report.checked} journeys would not replay on this "
            f"code ({build}):"
        )
        for failure in report.failures:
            click.echo(f"  {failure.line()}")
        exit_now(1)
    click.echo(f"{report.checked} journeys replay on this code ({build})")
    exit_now(0)


@main.command()
@click.argument("journey_id")
@click.option("--to", "version", type=click.IntRange(min=1), required=True, help="The version.")
@click.option(
    "--account",
    "accounts",
    multiple=True,
    help="Only this account's journey (repeatable); default: every running journey of it.",
)
@click.option("--dry-run", is_flag=True, help="Say what each journey would do; change nothing.")
@click.option("--reason", default="", help="Why, kept with each migration in its history.")
def migrate(
    journey_id: str, version: int, accounts: tuple[str, ...], dry_run: bool, reason: str
) -> None:
    """Move the running journeys of JOURNEY_ID to another version of its definition, each
    at its next safe point (where it rests in a wait, or after the step it is in), steps
    matched by id. A journey whose current step the version lacks is refused, before
    anything is sent to it. The version comes from the journeys folder or the store's
    archive. Exit 1 when any journey is refused."""
    from rapport.catalog.archive import StoreArchive
    from rapport.catalog.library import Library
    from rapport.client import JourneyError, Journeys
    from rapport.client.migrations import migrate as move
    from rapport.client.migrations import target_version
    from rapport.runtime.temporal import connect
    from rapport.store.database import Store, StoreUnavailable

    quiet_temporal_logs()
    settings = load_settings()
    store = Store(settings.store_url())
    folder = settings.journeys_dir
    try:
        store.ready()  # the archive: every worker finds the version there by hash
        target = target_version(
            journey_id, version, Library([folder]) if folder.is_dir() else None, StoreArchive(store)
        )
    except (StoreUnavailable, SQLAlchemyError) as exc:
        exit_now(1, [f"the store: {exc}"])
    except JourneyError as exc:
        exit_now(1, [str(exc)])

    async def go() -> list[Move]:
        journeys = Journeys(await connect(settings), settings)
        return await move(journeys, target, accounts, dry_run, reason)

    try:
        moves = asyncio.run(go())
    except RuntimeError as exc:  # the SDK's connection failure
        exit_now(1, [f"cannot reach Temporal at {settings.temporal_address}: {exc}"])
    for line in migration_lines(moves, target, dry_run):
        click.echo(line)
    exit_now(1 if any(m.refused for m in moves) else 0)


def migration_lines(moves: list[Move], target: PinnedJourney, dry_run: bool) -> list[str]:
    """One line per journey, then what happened in all."""
    pin = target.pin
    name = f"{pin.id} v{pin.version} ({pin.hash})"
    if not moves:
        return [f"no running journey of {pin.id} to move"]
    lines = [_line(m, dry_run) for m in moves]
    refused = sum(1 for m in moves if m.refused)
    already = sum(1 for m in moves if m.already)
    going = len(moves) - refused - already
    there = f", {already} already there" if already else ""
    if dry_run:
        lines.append(
            f"dry run: {going} of {len(moves)} journeys would move to {name}, {refused} "
            f"refused{there}; each journey computed its step and next contact from its own "
            "state (a pure computation, no simulation; it assumes no payment, reply or "
            "opt-out comes first); nothing was sent"
        )
    else:
        lines.append(f"{going} of {len(moves)} journeys move to {name}; {refused} refused{there}")
    return lines


def _line(move: Move, dry_run: bool) -> str:
    head = f"{move.account_id:<12}"
    p = move.preview
    if move.refused is not None or p is None:
        return f"{head} refused: {move.refused}"
    if move.already:
        return f"{head} already follows v{p.to.version}: nothing to do"
    now = f"v{p.now.version if p.now else '?'} step {p.step_now or '-'}"
    then = f"v{p.to.version} step {p.step_then or '(end)'}"
    contact = p.next_contact
    nxt = (
        f"next contact {contact.local} ({contact.at:%Y-%m-%d %H:%M} UTC): {contact.step} by "
        f"{contact.channel} ({contact.template})"
        if contact
        else f"no next contact: {p.then}"
    )
    what = "would move" if dry_run else "migrate_to sent; moves"
    return f"{head} {now} -> {then}; {what} {p.moves}; {nxt}"
