"""`journey import FILE`: the accounts of a daily file placed, idempotently.

Each valid row is compared with what the store says earlier imports placed
(`imported_accounts`: a digest of what the row meant, never its data):

- an account not placed before, or whose journey was closed, gets a journey started (or
  the running one returned: a journey started over the API is not started twice);
- one placed with the same meaning changes nothing (a second run of a file starts
  nothing);
- one whose row changed sends `account_updated` to its running journey (or starts a new
  journey when the last one ended).

A row whose journey cannot start (the `journey` column names none there is, or no entry
rule fits the account) is a bad row, as the HTTP API refuses such a start in the call:
started anyway, each journey failed at once, the run counted it started and the next run
unchanged, and the account was left without a journey until its row changed.

`--close-missing` then ends the running journeys of accounts placed earlier and not in
this file (`closed_by_billing`), unless the file looks cut short: it names no account, a
bad row's account cannot be read, or those it would close are more than `max_close` of
the accounts (those it names and those it would close): then it closes nothing and says
why. An empty export or one cut off at a line's end otherwise ended every journey, or
every one after the cut. The file is read a batch at a time and the accounts it
names are kept in the store while the run lasts (`import_seen`), so memory stays bounded
whatever the file's length. `--dry-run` says what would happen and changes nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any, Literal

from temporalio.service import RPCError, RPCStatusCode

from rapport.catalog.library import JourneyNotFound, Library, Scan
from rapport.client.journeys import JourneyError, Journeys
from rapport.contract.journey import JourneyStart, fingerprint
from rapport.contract.names import workflow_id
from rapport.intake.files import Row, RowProblem, rows
from rapport.store.intake import ImportBook

BATCH = 500  # rows read, looked up and acted on together
CONCURRENCY = 32  # Temporal calls in flight
FIRST_PROBLEMS = 10  # kept to show; every one goes to the --errors file
MAX_CLOSE = 10  # percent: --close-missing closes at most this share of the accounts
Outcome = Literal["started", "updated", "unchanged", "closed", "bad"]


@dataclass
class Summary:
    rows: int = 0
    started: int = 0
    updated: int = 0
    unchanged: int = 0
    closed: int = 0
    bad: int = 0
    unnamed: int = 0  # bad rows whose account could not be told
    close_refused: str | None = None  # why --close-missing closed nothing
    first_problems: list[tuple[int, str | None, RowProblem]] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def line(self, path: Path, seconds: float, dry_run: bool) -> str:
        verbs = (
            ("would start", "would update", "unchanged", "would close")
            if dry_run
            else ("started", "updated", "unchanged", "closed")
        )
        counts = (self.started, self.updated, self.unchanged, self.closed)
        done = ", ".join(f"{n} {verb}" for verb, n in zip(verbs, counts, strict=True))
        rate = self.rows / max(seconds, 1e-9)
        note = " (dry run: nothing changed)" if dry_run else ""
        return (
            f"{path.name}: {self.rows} rows in {seconds:.1f} s ({rate:.0f} rows/s): "
            f"{done}, {self.bad} bad{note}"
        )


def digest(start: JourneyStart) -> str:
    """What a row means (no PII): the account's meaning and the journey asked for."""
    return hashlib.sha256(
        f"{fingerprint(start.account)}|{start.journey or ''}".encode()
    ).hexdigest()[:32]


def update_of(start: JourneyStart) -> dict[str, Any]:
    """`account_updated` carrying everything a row says that an update may change."""
    account = start.account.model_dump(mode="json")
    customer = {k: v for k, v in account["customer"].items() if k != "address"}
    fields = (
        "balance",
        "minimum_due",
        "due_date",
        "days_past_due",
        "consent",
        "history",
        "attributes",
    )
    changes = {name: account[name] for name in fields if account.get(name) is not None}
    return {**changes, "customer": customer}


def journeys_library(folder: Path) -> Library | None:
    """The journeys folder each row's journey is checked against, as `journey import`
    reads it (None: no such folder, nothing checked)."""
    return Library([folder]) if folder.is_dir() else None


class Importer:
    def __init__(
        self,
        journeys: Journeys | None,
        book: ImportBook,
        dry_run: bool = False,
        close_missing: bool = False,
        progress: Callable[[int], None] = lambda n: None,
        report: Callable[[int, str | None, RowProblem], None] = lambda line, account, p: None,
        max_close: int = MAX_CLOSE,
        library: Library | None = None,
    ) -> None:
        """`journeys`: None only for a dry run (nothing is sent); `progress` is told of
        each batch's rows, `report` of each bad row (the `--errors` file); `max_close`:
        the percentage of the accounts `--close-missing` may close; `library`: the
        journeys folder each row's journey is chosen from (None: not checked)."""
        self.journeys, self.book, self.dry_run = journeys, book, dry_run
        self.close_missing, self.progress, self.report = close_missing, progress, report
        self.max_close, self.library = max_close, library
        self._scan: Scan | None = None
        self.run = uuid.uuid4().hex
        self.named = 0  # the accounts this file names (good rows or bad), each once
        self._calls = asyncio.Semaphore(CONCURRENCY)

    async def file(self, path: Path) -> Summary:
        summary = Summary()
        if self.library is not None:
            self._scan = await asyncio.to_thread(self.library.scan)  # read once a run
        try:
            for batch in _batches(rows(path), BATCH):
                await self._batch(batch, summary)
                self.progress(len(batch))
            if self.close_missing:
                await self._close_missing(summary)
        finally:
            await asyncio.to_thread(self.book.finish, self.run)
        return summary

    async def _batch(self, batch: list[Row], summary: Summary) -> None:
        summary.rows += len(batch)
        named = [row.account_id for row in batch if row.account_id]
        earlier = await asyncio.to_thread(self.book.seen, self.run, named)
        first_at: dict[str, int] = {}
        good: list[Row] = []
        for row in batch:
            if row.account_id and (row.account_id in earlier or row.account_id in first_at):
                where = first_at.get(row.account_id)
                detail = f"appears again (first at line {where})" if where else "appears again"
                self._bad(summary, row, RowProblem("account_id", detail))
                continue
            if row.account_id:
                first_at[row.account_id] = row.line
                self.named += 1
            if row.start is None:
                self._bad(summary, row, *row.problems)
                continue
            good.append(row)
        placed = await asyncio.to_thread(
            self.book.placed, [row.start.account.account_id for row in good if row.start]
        )
        decided: list[tuple[Row, str, Outcome]] = []
        for row in good:
            assert row.start is not None
            meaning = digest(row.start)
            before = placed.get(row.start.account.account_id)
            if before is not None and before.open and before.digest == meaning:
                summary.add("unchanged")
                continue
            cannot = self._cannot_start(row.start)
            if cannot is not None:
                self._bad(summary, row, cannot)
                continue
            outcome: Outcome = "started" if before is None or not before.open else "updated"
            decided.append((row, meaning, outcome))
        if self.dry_run:
            for _, _, outcome in decided:
                summary.add(outcome)
            return
        results = await asyncio.gather(*(self._act(row, outcome) for row, _, outcome in decided))
        kept: list[tuple[str, str, bool]] = []
        for (row, meaning, _), result in zip(decided, results, strict=True):
            assert row.start is not None
            if isinstance(result, RowProblem):
                self._bad(summary, row, result)
                continue
            summary.add(result)
            kept.append((row.start.account.account_id, meaning, True))
        await asyncio.to_thread(self.book.place, kept, datetime.now(UTC))

    def _cannot_start(self, start: JourneyStart) -> RowProblem | None:
        """Why the row's journey could not start (none of that id, or no entry rule fits
        the account), or None; the journeys folder as read at the run's start."""
        if self.library is None or self._scan is None:
            return None
        try:
            self.library.choose(start.journey, start.account, self._scan)
        except JourneyNotFound as exc:
            return RowProblem("journey", str(exc)[:300])
        return None

    async def _act(self, row: Row, outcome: Outcome) -> Outcome | RowProblem:
        """Start the journey (or find the running one); a changed row's running journey is
        told what changed."""
        assert row.start is not None
        assert self.journeys is not None
        start = row.start
        async with self._calls:
            try:
                began = await self.journeys.start(start.account, start.journey, compare=False)
                if not began.already_running:
                    return "started"
                if outcome == "started":
                    return "unchanged"  # running already (started over the API): left as is
                await self.journeys.signal(
                    start.account.account_id, "account_updated", update_of(start)
                )
                return "updated"
            except JourneyError as exc:
                return RowProblem("(journey)", str(exc)[:300])
            except RPCError as exc:
                return RowProblem("(journey)", f"Temporal refused: {exc.message}"[:300])

    async def _close_missing(self, summary: Summary) -> None:
        """End the running journeys of accounts placed earlier and not in this file,
        unless the file looks cut short (`close_refused` says why)."""
        missing = await asyncio.to_thread(
            lambda: sum(len(batch) for batch in self.book.missing(self.run))
        )
        summary.close_refused = self._cut_short(summary, missing)
        if summary.close_refused is not None:
            return
        for batch in self.book.missing(self.run):
            if self.dry_run:
                summary.closed += len(batch)
                continue
            results = await asyncio.gather(*(self._close(account_id) for account_id in batch))
            summary.closed += sum(results)
            await asyncio.to_thread(self.book.close, batch, datetime.now(UTC))

    def _cut_short(self, summary: Summary, missing: int) -> str | None:
        """Why closing the `missing` accounts would be a mistake, or None."""
        if missing == 0:
            return None
        if summary.unnamed:  # who is missing is unknown
            return "some rows' accounts could not be read"
        if self.named == 0:
            return (
                f"the file names no account: it would end all {missing} journeys "
                "(an empty or cut-short export?)"
            )
        share = 100 * missing / (missing + self.named)
        if share <= self.max_close:
            return None
        return (
            f"it would end {missing} of {missing + self.named} accounts' journeys "
            f"({share:.0f}%), more than --max-close {self.max_close}% (a cut-short export?); "
            f"if they all left, run it again with --max-close {math.ceil(share)}"
        )

    async def _close(self, account_id: str) -> bool:
        assert self.journeys is not None
        handle = self.journeys.client.get_workflow_handle(workflow_id(account_id))
        async with self._calls:
            try:
                await handle.signal("closed_by_billing", {"reason": "not in the billing file"})
            except RPCError as exc:
                if exc.status == RPCStatusCode.NOT_FOUND:  # ended already: nothing to close
                    return False
                raise
        return True

    def _bad(self, summary: Summary, row: Row, *problems: RowProblem) -> None:
        for problem in problems:
            self.report(row.line, row.account_id, problem)
            if len(summary.first_problems) < FIRST_PROBLEMS:
                summary.first_problems.append((row.line, row.account_id, problem))
        summary.add("bad")
        summary.unnamed += row.account_id is None


def _batches(items: Iterator[Row], size: int) -> Iterator[list[Row]]:
    while batch := list(islice(items, size)):
        yield batch
