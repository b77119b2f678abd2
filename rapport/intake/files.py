"""Reading a daily file of delinquent accounts for `journey import`, one row at a time
(a file of any length in bounded memory):

- `.csv`: a header row of columns named by where the value goes in the account, as
  `customer.email`, `history.tenure_months`, `consent.sms`, `attributes.plan_tier`
  (docs/billing-integration.md lists them), plus an optional `journey` column (the journey
  id; empty: the entry rules choose). An empty cell is a value left out. An unknown column
  stops the file at its header, with the column that was meant.
- `.jsonl`: one JSON object a line: an account, or `{"account": {...}, "journey": "..."}`
  (the workflow's input).

Each row is validated as the account (and the journey id as the workflow's input): a bad
row is reported with its line and field, never its values (they are customer data).
"""

from __future__ import annotations

import codecs
import csv
import difflib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import ValidationError

from rapport.channels import NAMES
from rapport.contract.journey import JourneyStart
from rapport.intake.depth import MAX_DEPTH, too_deep
from rapport.language.account import Account, Address, Customer, History

JOURNEY_COLUMN = "journey"
MAX_LINE = 1024 * 1024  # a JSONL line or CSV field this long is not an account


def columns() -> list[str]:
    """Every column a CSV file may have (attributes.* takes any name after the dot)."""
    top = [
        name
        for name in Account.model_fields
        if name not in ("customer", "history", "consent", "attributes")
    ]
    customer = [f"customer.{n}" for n in Customer.model_fields if n != "address"]
    address = [f"customer.address.{n}" for n in Address.model_fields]
    history = [f"history.{n}" for n in History.model_fields]
    consent = [f"consent.{n}" for n in NAMES]
    return [*top, *customer, *address, *history, *consent, "attributes.<name>", JOURNEY_COLUMN]


class FileProblem(ValueError):
    """The file as a whole cannot be read (an unknown column, not CSV or JSONL)."""


@dataclass(frozen=True)
class RowProblem:
    field: str
    detail: str


@dataclass(frozen=True)
class Row:
    """One account of the file: its line, and the start it asks for or what is wrong."""

    line: int
    account_id: str | None
    start: JourneyStart | None
    problems: tuple[RowProblem, ...] = ()


def rows(path: Path) -> Iterator[Row]:
    if path.suffix.lower() == ".csv":
        return _csv_rows(path)
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        return _jsonl_rows(path)
    raise FileProblem(f"{path}: a .csv or .jsonl file, one account a row")


def count_rows(path: Path) -> int:
    """How many rows the file holds (lines, less a CSV's header): a quick pass, for the
    progress bar."""
    lines, last = 0, b"\n"
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    lines += last != b"\n"
    return max(0, lines - (path.suffix.lower() == ".csv"))


def _csv_rows(path: Path) -> Iterator[Row]:
    csv.field_size_limit(MAX_LINE)
    with path.open("rb") as file:
        lines = Lines(file)
        reader = csv.reader(lines)
        try:
            header = next(reader)
        except StopIteration:
            return
        except (csv.Error, LineProblem) as exc:
            raise FileProblem(f"{path}:1: not CSV: {exc}") from None
        _check_header(path, header)
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except (csv.Error, LineProblem) as exc:
                yield Row(lines.number, None, None, (RowProblem("(row)", f"not CSV: {exc}"),))
                continue
            if not any(cell.strip() for cell in cells):
                continue  # a blank line
            if len(cells) != len(header):
                yield Row(
                    lines.number,
                    None,
                    None,
                    (RowProblem("(row)", f"{len(cells)} cells; the header has {len(header)}"),),
                )
                continue
            yield _row(lines.number, _nested(header, cells))


class LineProblem(ValueError):
    """One line of the file cannot be read (too long, not UTF-8): that row is bad."""


class Lines:
    """A file's lines, for the CSV reader and JSONL alike: each decoded on its own, so a
    byte that is not UTF-8 costs its own line only (decoding the file as a stream lost the
    8 KiB around it: some 200 rows gone from the count, the line numbers wrong), and each
    read at most MAX_LINE bytes at a time (a longer one is skipped, never held whole).
    A UTF-8 byte order mark (Excel's "CSV UTF-8") is dropped."""

    def __init__(self, file: BinaryIO) -> None:
        self.file, self.number = file, 0

    def __iter__(self) -> Lines:
        return self

    def __next__(self) -> str:
        raw = self.file.readline(MAX_LINE + 1)
        if not raw:
            raise StopIteration
        self.number += 1
        if len(raw) > MAX_LINE:
            while raw and not raw.endswith(b"\n"):
                raw = self.file.readline(1 << 20)
            raise LineProblem(f"longer than {MAX_LINE} bytes")
        if self.number == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            if self.number == 1 and raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                raise LineProblem("the file is UTF-16: save it as UTF-8 (CSV UTF-8)") from None
            raise LineProblem(
                f"not UTF-8 (byte {raw[exc.start]:#04x} at byte {exc.start + 1} of the line): "
                "save the file as UTF-8"
            ) from None


def _check_header(path: Path, header: list[str]) -> None:
    known = columns()
    for number, name in enumerate(header, start=1):
        if name in known or (name.startswith("attributes.") and len(name) > len("attributes.")):
            continue
        guess = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {guess[0]}?" if guess else "; see docs/billing-integration.md"
        raise FileProblem(f"{path}:1: column {number} {name!r} is not an account field{hint}")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise FileProblem(f"{path}:1: column {repeated[0]!r} appears twice")
    if "account_id" not in header:
        raise FileProblem(f"{path}:1: no account_id column")


def _nested(header: list[str], cells: list[str]) -> dict[str, Any]:
    """`customer.email` -> {"customer": {"email": ...}}; an empty cell is left out."""
    data: dict[str, Any] = {}
    for name, cell in zip(header, cells, strict=True):
        value = cell.strip()
        if not value:
            continue
        *parents, leaf = name.split(".", 2 if name.startswith("customer.address.") else 1)
        place = data
        for parent in parents:
            place = place.setdefault(parent, {})
        place[leaf] = value
    return data


def _jsonl_rows(path: Path) -> Iterator[Row]:
    with path.open("rb") as file:
        lines = Lines(file)
        while True:
            try:
                text = next(lines)
                if not text.strip():
                    continue
                data = json.loads(text)
            except StopIteration:
                return
            except (ValueError, RecursionError) as exc:  # LineProblem is a ValueError
                problem = RowProblem("(row)", f"not JSON: {exc}"[:200])
                yield Row(lines.number, None, None, (problem,))
                continue
            if not isinstance(data, dict):
                yield Row(lines.number, None, None, (RowProblem("(row)", "not a JSON object"),))
                continue
            deep = too_deep(data)
            if deep is not None:  # its journey could never be started: said here
                problem = RowProblem(deep.rstrip("."), f"nested more than {MAX_DEPTH} levels")
                account = data.get("account")
                named: dict[str, Any] = account if isinstance(account, dict) else data
                found = named.get("account_id")
                account_id = found if isinstance(found, str) and 0 < len(found) <= 64 else None
                yield Row(lines.number, account_id, None, (problem,))
                continue
            if "account" in data and isinstance(data["account"], dict):
                yield _start(lines.number, data)
            else:
                yield _row(lines.number, data)


def _row(line: int, data: dict[str, Any]) -> Row:
    journey = data.pop(JOURNEY_COLUMN, None)
    start: dict[str, Any] = {"account": data}
    if journey is not None:
        start["journey"] = journey
    return _start(line, start)


def _start(line: int, data: dict[str, Any]) -> Row:
    account = data.get("account")
    found = account.get("account_id") if isinstance(account, dict) else None
    account_id = found if isinstance(found, str) and 0 < len(found) <= 64 else None
    try:
        return Row(line, account_id, JourneyStart.model_validate(data))
    except ValidationError as exc:
        problems = tuple(
            RowProblem(_field(e["loc"]), e["msg"]) for e in exc.errors(include_input=False)[:10]
        )
        return Row(line, account_id, None, problems)


def _field(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] == "account":  # the CSV's column names
        parts = parts[1:]
    return ".".join(parts) or "(row)"
