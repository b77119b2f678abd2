"""For billing systems that would rather not speak Temporal: `journey api-key` (the HTTP
API's keys) and `journey import FILE` (a daily file of delinquent accounts)."""

from __future__ import annotations

import asyncio
import csv
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from rapport.cli.app import exit_now, fail, main, open_store
from rapport.runtime.settings import load_settings
from rapport.store.database import StoreUnavailable
from rapport.store.intake import ApiKeys, ImportBook, NameTaken

if TYPE_CHECKING:
    from rapport.intake.files import RowProblem
    from rapport.intake.importer import Summary


def open_keys() -> ApiKeys:
    store = open_store()
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


@main.command(name="import")
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Say what would happen; change nothing.")
@click.option(
    "--errors",
    "errors_file",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write each bad row's line, account and field (never its values) to this CSV file.",
)
@click.option(
    "--close-missing",
    is_flag=True,
    help="End the running journeys of accounts earlier files placed and this one does not "
    "(outcome closed_by_billing).",
)
@click.option(
    "--max-close",
    type=click.IntRange(1, 100),
    default=None,
    metavar="PERCENT",
    help="With --close-missing: close nothing (exit 1) when more than this share of the "
    "accounts would close, as a cut-short file would (default 10).",
)
def import_file(
    file: Path,
    dry_run: bool,
    errors_file: Path | None,
    close_missing: bool,
    max_close: int | None,
) -> None:
    """Place the accounts of FILE (.csv or .jsonl, one account a row; columns in
    docs/billing-integration.md): start journeys for new accounts, send account_updated for
    changed ones, nothing for the same row again. Exit 1 when any row was bad."""
    from rapport.intake.files import FileProblem, count_rows
    from rapport.intake.importer import MAX_CLOSE, Importer, journeys_library

    if errors_file is not None and errors_file.exists() and errors_file.samefile(file):
        # opened for writing first, it emptied the file it was to read: "0 rows", exit 0
        fail([f"--errors {errors_file} is the file being imported: name another file"])
    settings = load_settings()
    store = open_store()
    writer = ErrorsFile(errors_file) if errors_file else None
    bar = ProgressBar(count_rows(file), file.name)

    async def run() -> Summary:
        journeys = None
        if not dry_run:
            from rapport.client import Journeys
            from rapport.runtime.temporal import connect

            journeys = Journeys(await connect(settings), settings)
        importer = Importer(
            journeys,
            ImportBook(store),
            dry_run,
            close_missing,
            progress=bar.advance,
            report=writer.write if writer else lambda line, account, problem: None,
            max_close=MAX_CLOSE if max_close is None else max_close,
            library=journeys_library(settings.journeys_dir),
        )
        return await importer.file(file)

    started = time.perf_counter()
    try:
        with bar:
            summary = asyncio.run(run())
    except FileProblem as exc:
        exit_now(1, [str(exc)])
    except (StoreUnavailable, RuntimeError) as exc:
        exit_now(1, [f"import stopped: {exc}"])
    finally:
        if writer:
            writer.close()
    for line, _account_id, problem in summary.first_problems:
        click.echo(
            f"{file}:{line}: {printable(problem.field)}: {printable(problem.detail)}", err=True
        )
    if summary.bad > len(summary.first_problems):
        more = summary.bad - len(summary.first_problems)
        where = f" (every one in {errors_file})" if errors_file else " (--errors FILE lists them)"
        click.echo(f"... and {more} more bad rows{where}", err=True)
    if summary.close_refused:
        verb = "would close" if dry_run else "closed"
        click.echo(f"--close-missing {verb} nothing: {summary.close_refused}", err=True)
    click.echo(summary.line(file, time.perf_counter() - started, dry_run))
    exit_now(1 if summary.bad or summary.close_refused else 0)


# What a terminal or a spreadsheet would obey in text from the file: control characters
# (an escape sequence retitles or rewrites the terminal), bidirectional overrides (text
# shown other than it is); and a cell a spreadsheet reads as a formula.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def printable(text: str, limit: int = 300) -> str:
    """Text from the file, as it may be shown: control characters written as escapes."""
    return _CONTROL.sub(lambda m: _escaped(ord(m.group())), text[:limit])


def _escaped(code: int) -> str:
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def cell(text: str) -> str:
    """A cell of the errors file that a spreadsheet shows as text, never runs: one that
    would start a formula (an account id such as =HYPERLINK(...)) begins with a quote,
    as OWASP's CSV-injection advice says."""
    text = printable(text)
    return f"'{text}" if text.startswith(_FORMULA) else text


class ErrorsFile:
    """`--errors FILE`: a CSV of line, account_id, field, error (no values from the row;
    an account id or a field name from the file made safe to open: `cell`)."""

    def __init__(self, path: Path) -> None:
        self.file = path.open("w", newline="", encoding="utf-8")
        self.csv = csv.writer(self.file)
        self.csv.writerow(["line", "account_id", "field", "error"])

    def write(self, line: int, account_id: str | None, problem: RowProblem) -> None:
        self.csv.writerow([line, cell(account_id or ""), cell(problem.field), cell(problem.detail)])

    def close(self) -> None:
        self.file.close()


class ProgressBar:
    """Rows done of all, the rate and the time left, on the terminal's stderr (nothing
    when it is not a terminal: logs and CI get the summary line alone). rich, not tqdm:
    it was already installed, draws rate and ETA as columns, and stays off the stdout the
    summary line goes to."""

    def __init__(self, total: int, name: str) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        console = Console(stderr=True)
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} rows/s"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            disable=not console.is_terminal,
            transient=False,
        )
        self.task = self.progress.add_task(name, total=total, rate="-")

    def advance(self, rows: int) -> None:
        self.progress.advance(self.task, rows)
        speed = self.progress.tasks[0].speed
        self.progress.update(self.task, rate=f"{speed:,.0f}" if speed else "-")

    def __enter__(self) -> ProgressBar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()
