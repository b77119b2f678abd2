"""The `journey` command group, and what its commands share: one line per problem, exit
codes, quiet Temporal logs, connecting to a running journey."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TypeVar

import click

from rapport.language.account import Account
from rapport.language.loader import validate_model
from rapport.language.problems import DefinitionError
from rapport.language.yaml_source import load_yaml
from rapport.runtime.settings import BadSettings, load_settings

if TYPE_CHECKING:
    from rapport.client import Journeys
    from rapport.store.database import Store

T = TypeVar("T")


class Commands(click.Group):
    """The commands, each refusing settings it cannot read with one line per setting
    and exit 2 (a mistyped RAPPORT_ENVIRONMENT is not a traceback)."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except BadSettings as bad:
            for line in bad.lines:
                click.echo(line, err=True)
            ctx.exit(2)


@click.group(cls=Commands)
def main() -> None:
    """Rapport journeys: write, check, try and run them."""


def fail(lines: list[str]) -> NoReturn:
    for line in lines:
        click.echo(line, err=True)
    sys.exit(1)


def reporting_problems(action: Callable[[], T]) -> T:
    """Run `action`; a DefinitionError becomes one line per problem and exit 1."""
    try:
        return action()
    except DefinitionError as exc:
        fail([str(p) for p in exc.problems])


def exit_now(code: int, errors: list[str] | None = None) -> NoReturn:
    """Exit without interpreter finalization once a Temporal runtime has run: its native
    threads can abort the process while Python shuts down, turning success into a crash."""
    for line in errors or []:
        click.echo(line, err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def quiet_temporal_logs() -> None:
    """Keep the SDK's worker chatter out of a designer's terminal; errors still show."""
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("temporalio").setLevel(logging.ERROR)


def load_account(path: Path) -> Account:
    return reporting_problems(lambda: validate_model(Account, load_yaml(path)))


def operate(action: Callable[[Journeys], Awaitable[str]]) -> NoReturn:
    """Connect to Temporal, run `action`, print its answer; clear errors, exit 1."""
    from rapport.client import JourneyError, Journeys
    from rapport.runtime.temporal import connect

    settings = load_settings()

    async def go() -> str:
        return await action(Journeys(await connect(settings), settings))

    try:
        output = asyncio.run(go())
    except JourneyError as exc:
        exit_now(1, [str(exc)])
    except RuntimeError as exc:  # the SDK's connection failure
        exit_now(
            1,
            [
                f"cannot reach Temporal at {settings.temporal_address}: {exc}. "
                "Is the server running (make run, or python worker.py --dev)?"
            ],
        )
    click.echo(output)
    exit_now(0)


def open_store() -> Store:
    """The store the settings name, made ready (a SQLite file upgraded in place), or one
    line saying why not and exit 1."""
    from rapport.store.database import Store, StoreUnavailable

    settings = load_settings()
    store = Store(settings.store_url())
    try:
        store.ready(settings.address_sealer())
    except StoreUnavailable as exc:
        fail([f"the store: {exc}"])
    return store
