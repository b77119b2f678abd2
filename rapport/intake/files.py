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

import csv
import difflib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from rapport.channels import NAMES
from rapport.contract.journey import JourneyStart
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
    with path.open(newline="", encoding="utf-8-sig") as file:
        reader = csv.reader(file)
        try:
            header = next(reader)
        except StopIteration:
            return
        except (csv.Error, UnicodeDecodeError) as exc:
            raise FileProblem(f"{path}:1: not CSV: {exc}") from None
        _check_header(path, header)
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except (csv.Error, UnicodeDecodeError) as exc:
                yield Row(reader.line_num, None, None, (RowProblem("(row)", f"not CSV: {exc}"),))
                continue
            if not any(cell.strip() for cell in cells):
                continue  # a blank line
            if len(cells) != len(header):
                yield Row(
                    reader.line_num,
                    None,
                    None,
                    (RowProblem("(row)", f"{len(cells)} cells; the header has {len(header)}"),),
                )
                continue
            yield _row(reader.line_num, _nested(header, cells))


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
        for line, raw in enumerate(file, start=1):
            if not raw.strip():
                continue
            try:
                if len(raw) > MAX_LINE:
                    raise ValueError(f"longer than {MAX_LINE} bytes")
                data = json.loads(raw)
            except (ValueError, RecursionError) as exc:
                yield Row(line, None, None, (RowProblem("(row)", f"not JSON: {exc}"[:200]),))
                continue
            if not isinstance(data, dict):
                yield Row(line, None, None, (RowProblem("(row)", "not a JSON object"),))
                continue
            if "account" in data and isinstance(data["account"], dict):
                yield _start(line, data)
            else:
                yield _row(line, data)


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
