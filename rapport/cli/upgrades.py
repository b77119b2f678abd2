"""Commands for upgrades: `journey replay-check` before a new worker version is made
current (docs/operating.md, "Upgrading")."""

from __future__ import annotations

import asyncio

import click
from sqlalchemy.exc import SQLAlchemyError

from rapport.cli.app import exit_now, main, quiet_temporal_logs
from rapport.runtime.settings import load_settings


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
