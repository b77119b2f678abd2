"""`journey import FILE` against the real dev server and a worker: good and bad rows, a
second run starts nothing, a changed row updates, --close-missing closes, --dry-run changes
nothing, JSONL too; and 100,000 rows in bounded memory (RSS measured)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import WorkflowExecutionStatus

from rapport.cli.demo import midday_zone
from rapport.contract.names import workflow_id
from tests.web.portal_rig import Rig, portal_rig

pytestmark = pytest.mark.timeout(240)
SHIPPED_JOURNEYS = Path(__file__).resolve().parents[2] / "journeys"
HEADER = [
    "account_id",
    "customer.first_name",
    "customer.phone",
    "customer.timezone",
    "balance",
    "currency",
    "days_past_due",
    "consent.sms",
    "attributes.tier",
    "journey",
]


@pytest_asyncio.fixture(scope="module")
async def rig(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    async with portal_rig(tmp_path_factory.mktemp("intake-import")) as r:
        yield r


def row(account_id: str, **changes: str) -> dict[str, str]:
    values = {
        "account_id": account_id,
        "customer.first_name": "Quinn",
        "customer.phone": "+12125550199",
        "customer.timezone": midday_zone(),
        "balance": "120.00",
        "currency": "USD",
        "days_past_due": "12",
        "consent.sms": "true",
        "attributes.tier": "gold",
        "journey": "portal",
    }
    return {**values, **changes}


def write_csv(path: Path, rows: list[dict[str, str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def journey_import(rig: Rig, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": rig.temporal_address,
        "JOURNEY_TASK_QUEUE": rig.settings.task_queue,
        "RAPPORT_DATA_DIR": str(rig.settings.data_dir),
        "RAPPORT_JOURNEYS_DIR": str(rig.settings.journeys_dir),  # the worker's, as in use
    }
    return subprocess.run(
        [sys.executable, "-m", "rapport.cli", "import", *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=200,
    )


async def run_id(rig: Rig, account_id: str) -> str:
    description = await rig.client.get_workflow_handle(workflow_id(account_id)).describe()
    return description.run_id


@pytest.mark.slow
async def test_good_and_bad_rows_then_a_second_run_starts_nothing(rig: Rig, tmp_path: Path) -> None:
    ids = [f"IMP-{uuid.uuid4().hex[:6]}" for _ in range(3)]
    rows = [
        row(ids[0]),
        row("BAD-1", balance="-3.00"),
        row(ids[1]),
        row("BAD-2", **{"customer.timezone": "Mars/Olympus", "customer.first_name": "Zed"}),
        row(ids[2]),
        row(ids[0]),  # the same account twice in one file
    ]
    file = write_csv(tmp_path / "placements.csv", rows)
    errors = tmp_path / "errors.csv"
    first = journey_import(rig, file, "--errors", errors)
    assert first.returncode == 1, first.stderr
    assert "6 rows" in first.stdout
    assert "3 started, 0 updated, 0 unchanged, 0 closed, 3 bad" in first.stdout
    assert f"{file}:3: balance: " in first.stderr
    assert f"{file}:5: customer.timezone: " in first.stderr
    with errors.open() as found:
        reported = list(csv.DictReader(found))
    assert [(r["line"], r["account_id"], r["field"]) for r in reported] == [
        ("3", "BAD-1", "balance"),
        ("5", "BAD-2", "customer.timezone"),
        ("7", ids[0], "account_id"),
    ]
    assert "appears again (first at line 2)" in reported[2]["error"]
    assert "Zed" not in errors.read_text()  # line and field, never the row's values
    runs = [await run_id(rig, account_id) for account_id in ids]

    good = write_csv(tmp_path / "good.csv", [row(i) for i in ids])
    again = journey_import(rig, good)
    assert again.returncode == 0, again.stderr
    assert "0 started, 0 updated, 3 unchanged, 0 closed, 0 bad" in again.stdout
    assert [await run_id(rig, account_id) for account_id in ids] == runs  # nothing new


@pytest.mark.slow
async def test_a_changed_row_updates_and_a_missing_account_is_closed(
    rig: Rig, tmp_path: Path
) -> None:
    ids = [f"CHG-{uuid.uuid4().hex[:6]}" for _ in range(3)]
    assert (
        journey_import(rig, write_csv(tmp_path / "day1.csv", [row(i) for i in ids])).returncode == 0
    )
    await rig.status_when(ids[0], lambda s: s.step is not None)
    day2 = write_csv(tmp_path / "day2.csv", [row(ids[0], balance="80.00"), row(ids[1])])

    # the module's other tests placed accounts too: this file leaves out most of them
    dry = journey_import(rig, day2, "--dry-run", "--close-missing", "--max-close", "100")
    assert dry.returncode == 0, dry.stderr
    assert "0 would start, 1 would update, 1 unchanged, " in dry.stdout
    assert "dry run: nothing changed" in dry.stdout
    assert (await rig.status(ids[0])).balance == 120

    done = journey_import(rig, day2, "--close-missing", "--max-close", "100")
    assert done.returncode == 0, done.stderr
    assert "0 started, 1 updated, 1 unchanged, " in done.stdout
    assert await rig.status_when(ids[0], lambda s: s.balance == 80)
    closed = rig.client.get_workflow_handle(workflow_id(ids[2]))
    assert (await closed.result())["outcome"] == "closed_by_billing"
    assert (await rig.client.get_workflow_handle(workflow_id(ids[1])).describe()).status == (
        WorkflowExecutionStatus.RUNNING
    )
    # the closed account comes back in a later file: a journey starts again
    back = journey_import(rig, write_csv(tmp_path / "day3.csv", [row(i) for i in ids]))
    assert "1 started" in back.stdout


@pytest.mark.slow
async def test_close_missing_closes_nothing_for_an_empty_or_cut_short_file(
    rig: Rig, tmp_path: Path
) -> None:
    """Attack review of issue 27: an export that failed and wrote an empty file (or only
    its header), or one cut off at the end of a line, with --close-missing ended every
    placed account's journey (or every one after the cut): `closed_by_billing` for the
    whole book, customers mid-plan included. Now such a file closes nothing, says why and
    exits 1; --max-close says how much may close when that many really left."""
    ids = [f"CUT-{uuid.uuid4().hex[:6]}" for _ in range(10)]
    day1 = write_csv(tmp_path / "day1.csv", [row(i) for i in ids])
    assert journey_import(rig, day1).returncode == 0
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    header_only = write_csv(tmp_path / "header.csv", [])
    cut = tmp_path / "cut.csv"
    cut.write_text("".join(day1.read_text().splitlines(keepends=True)[:4]))  # 3 rows of 10

    for file in (empty, header_only):
        for dry in ((), ("--dry-run",)):
            done = journey_import(rig, file, "--close-missing", *dry)
            assert done.returncode == 1, done.stdout
            verb = "would close" if dry else "closed"
            assert f"0 {verb}" in done.stdout
            assert f"--close-missing {verb} nothing: the file names no account" in done.stderr
    done = journey_import(rig, cut, "--close-missing")
    assert done.returncode == 1, done.stdout
    assert "3 rows" in done.stdout
    assert "0 closed" in done.stdout
    assert "--close-missing closed nothing: it would end " in done.stderr
    assert "more than --max-close 10%" in done.stderr
    for account_id in ids:
        described = await rig.client.get_workflow_handle(workflow_id(account_id)).describe()
        assert described.status == WorkflowExecutionStatus.RUNNING, account_id


@pytest.mark.slow
async def test_a_row_whose_journey_cannot_start_is_a_bad_row(rig: Rig, tmp_path: Path) -> None:
    """Attack review of issue 27 (second pass): a `journey` cell naming no journey there
    is (a typo) was counted "started"; the journey failed at once ("Encoded failure" in
    the UI), the next run said "unchanged", and the account stayed without a journey
    until its row changed. The HTTP API refuses such a start in the call; so does the
    import now, naming the journeys there are."""
    typo, good = f"TYP-{uuid.uuid4().hex[:6]}", f"TYP-{uuid.uuid4().hex[:6]}"
    file = write_csv(tmp_path / "typo.csv", [row(typo, journey="portl"), row(good)])
    errors = tmp_path / "errors.csv"
    for dry in (("--dry-run",), ()):
        done = journey_import(rig, file, "--errors", errors, *dry)
        assert done.returncode == 1, done.stderr
        assert "1 would start" in done.stdout or "1 started" in done.stdout
        assert f"{file}:2: journey: no journey has id 'portl'; journeys: portal" in done.stderr
    with errors.open() as found:
        assert [(r["line"], r["account_id"], r["field"]) for r in csv.DictReader(found)] == [
            ("2", typo, "journey")
        ]
    with pytest.raises(Exception, match="not found"):
        await rig.client.get_workflow_handle(workflow_id(typo)).describe()
    fixed = write_csv(tmp_path / "fixed.csv", [row(typo), row(good)])
    again = journey_import(rig, fixed)
    assert "1 started, 0 updated, 1 unchanged" in again.stdout, again.stderr
    assert await run_id(rig, typo)


@pytest.mark.slow
async def test_a_dry_run_starts_nothing_and_jsonl_is_read_too(rig: Rig, tmp_path: Path) -> None:
    account_id = f"JSN-{uuid.uuid4().hex[:6]}"
    account = rig.account(account_id).model_dump(mode="json")
    lines = [
        json.dumps({"account": account, "journey": "portal"}),
        "{not json",
        json.dumps({**account, "account_id": f"{account_id}-b", "journey": "portal"}),
    ]
    file = tmp_path / "placements.jsonl"
    file.write_text("\n".join(lines) + "\n")
    dry = journey_import(rig, file, "--dry-run")
    assert dry.returncode == 1
    assert "2 would start" in dry.stdout
    assert f"{file}:2: (row): not JSON" in dry.stderr
    with pytest.raises(Exception, match="not found"):
        await rig.client.get_workflow_handle(workflow_id(account_id)).describe()
    real = journey_import(rig, file)
    assert "2 started" in real.stdout
    assert await run_id(rig, account_id)


@pytest.mark.slow
def test_an_unknown_column_stops_the_file_at_its_header(tmp_path: Path) -> None:
    header = [*HEADER[:2], "customer.emial", *HEADER[2:]]
    file = write_csv(
        tmp_path / "typo.csv", [{**row("X-1"), "customer.emial": "x@example.com"}], header
    )
    done = subprocess.run(
        [sys.executable, "-m", "rapport.cli", "import", str(file), "--dry-run"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert (
        "typo.csv:1: column 3 'customer.emial' is not an account field; did you mean customer.email?"
        in done.stderr
    )


def peak_rss_of_import(tmp_path: Path, rows: int) -> tuple[int, str]:
    """Peak RSS (KiB) of `journey import --dry-run` over `rows` generated rows."""
    file = tmp_path / f"rows-{rows}.csv"
    with file.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        zone = midday_zone()
        for i in range(rows):
            writer.writerow(
                [
                    f"R-{i}",
                    "Quinn",
                    "+12125550199",
                    zone,
                    "120.00",
                    "USD",
                    "12",
                    "true",
                    "gold",
                    "early-stage",  # a shipped journey: each row's is chosen, as for real
                ]
            )
    script = (  # the command exits with os._exit (exit_now): report the peak first
        "import os, resource, sys\n"
        "leave = os._exit\n"
        "def report(code):\n"
        "    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "    print('RSS', rss, file=sys.stderr, flush=True)\n"
        "    leave(code)\n"
        "os._exit = report\n"
        "from rapport.cli import main\n"
        "main(['import', sys.argv[1], '--dry-run'])\n"
    )
    env = {
        **os.environ,
        "RAPPORT_DATA_DIR": str(tmp_path / f"data-{rows}"),
        "RAPPORT_JOURNEYS_DIR": str(SHIPPED_JOURNEYS),
    }
    done = subprocess.run(
        [sys.executable, "-c", script, str(file)],
        capture_output=True,
        text=True,
        timeout=220,
        env=env,
    )
    assert f"{rows} rows" in done.stdout, done.stderr[-2000:]
    return int(done.stderr.rsplit("RSS", 1)[1].split()[0]), done.stdout


@pytest.mark.slow
def test_a_hundred_thousand_rows_in_bounded_memory(tmp_path: Path) -> None:
    """Memory does not grow with the file: 100,000 rows peak within a few MiB of 10,000."""
    small, _ = peak_rss_of_import(tmp_path, 10_000)
    large, summary = peak_rss_of_import(tmp_path, 100_000)
    print(
        f"peak RSS: 10,000 rows {small / 1024:.0f} MiB, 100,000 rows {large / 1024:.0f} MiB; {summary}"
    )
    assert "100000 would start" in summary, summary
    assert large < 400 * 1024
    assert large - small < 40 * 1024  # KiB: a file ten times longer, (almost) no more memory


# --- attack review: hostile files ---------------------------------------------------------

PLAIN = ["account_id", "customer.first_name", "customer.timezone", "balance", "currency"]


def jsonl_row(account_id: str) -> dict[str, Any]:
    """A good JSONL row for the hostile-file tests to spoil."""
    return {
        "account_id": account_id,
        "customer": {"first_name": "Quinn", "timezone": "America/New_York"},
        "balance": "10.00",
        "currency": "USD",
        "days_past_due": 3,
    }


PLAIN += ["days_past_due"]


def dry_import(tmp_path: Path, file: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    errors = tmp_path / "errors.csv"
    env = {**os.environ, "RAPPORT_DATA_DIR": str(tmp_path / "data")}
    command = [sys.executable, "-m", "rapport.cli", "import", str(file), "--dry-run"]
    done = subprocess.run(
        [*command, "--errors", str(errors)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    return done, errors


def plain_line(account_id: str, balance: str = "10.00", name: str = "Quinn") -> str:
    return f"{account_id},{name},America/New_York,{balance},USD,3\n"


@pytest.mark.slow
def test_a_hostile_csv_loses_no_row_and_its_errors_file_is_safe_to_open(tmp_path: Path) -> None:
    """Attack review of issue 27, each replayed with `journey import`:
    - one Latin-1 byte (a name exported by an old system) lost the 8 KiB of rows around it:
      ~200 accounts of 10,000 silently not placed, the line numbers after it wrong, and a
      made-up "3 cells" error; now that line alone is bad, saying "save as UTF-8";
    - a line of 3 MB was read whole into memory; now it is refused unread;
    - an account id written as a formula went into the errors file as one: Excel ran
      =HYPERLINK(...) when the operator opened it; now the cell begins with a quote;
    - a byte order mark (Excel's CSV UTF-8) is read as one."""
    rows = [plain_line(f"H-{i}") for i in range(3000)]
    rows[1500] = plain_line("H-1500", name="Ren\xe9")
    rows[2000] = plain_line("H-2000", name="x" * 3_000_000)
    rows[2500] = plain_line('=HYPERLINK("https://evil.example/fix")', balance="-1")
    file = tmp_path / "hostile.csv"
    with file.open("wb") as out:
        out.write(b"\xef\xbb\xbf" + ",".join(PLAIN).encode() + b"\n")
        for line in rows:
            out.write(line.encode("latin-1"))
    done, errors = dry_import(tmp_path, file)
    assert done.returncode == 1, done.stderr
    assert "3000 rows" in done.stdout
    assert "2997 would start" in done.stdout
    with errors.open() as found:
        reported = {r["line"]: r for r in csv.DictReader(found)}
    assert reported.keys() == {"1502", "2002", "2502"}
    assert "save the file as UTF-8" in reported["1502"]["error"]
    assert "longer than" in reported["2002"]["error"]
    assert reported["2502"]["account_id"].startswith("'=HYPERLINK")
    assert all(
        not value.startswith(("=", "+", "@")) for r in reported.values() for value in r.values()
    )


@pytest.mark.slow
def test_a_hostile_jsonl_cannot_write_to_the_terminal(tmp_path: Path) -> None:
    """A field name in the file carrying an escape sequence was printed as it was: it
    retitled (or rewrote) the operator's terminal. (A byte order mark was read: kept so.)"""
    good = jsonl_row("J-1")
    hostile = {**good, "account_id": "J-2", "\x1b]0;pwned\x07\u202e": 1}
    deep: Any = "x"
    for _ in range(250):  # past the worker's parser: its journey could never start
        deep = {"a": deep}
    too_deep = {**good, "account_id": "J-3", "attributes": {"deep": deep}}
    file = tmp_path / "hostile.jsonl"
    file.write_bytes(
        b"\xef\xbb\xbf"
        + b"\n".join(json.dumps(row).encode() for row in (good, hostile, too_deep))
        + b"\n"
    )
    done, errors = dry_import(tmp_path, file)
    assert done.returncode == 1, done.stderr
    assert "1 would start" in done.stdout  # the first line, behind its byte order mark
    assert f"{file}:2: \\x1b]0;pwned\\x07\\u202e: Extra inputs are not permitted" in done.stderr
    assert f"{file}:3: attributes.deep.a: nested more than 64 levels" in done.stderr
    assert "\x1b" not in done.stderr + errors.read_text()
    assert "\u202e" not in done.stderr + errors.read_text()


@pytest.mark.slow
def test_a_lone_surrogate_is_a_bad_row_not_a_traceback(tmp_path: Path) -> None:
    """Attack review of issue 27 (second pass): a JSONL row whose attributes held a lone
    surrogate (`"\\udfff"`, as JavaScript's JSON.stringify writes one) passed the row's
    checks, so --dry-run said it "would start"; the real run then stopped the whole
    import with a traceback when the start was encoded, the rows after it not placed."""
    good = jsonl_row("S-1")
    lines = [
        json.dumps({**good, "attributes": {"x": "\udfff"}}),  # json writes it escaped
        json.dumps({**good, "account_id": "S-2"}),
    ]
    assert "\\udfff" in lines[0]
    file = tmp_path / "surrogate.jsonl"
    file.write_text("\n".join(lines) + "\n")
    done, errors = dry_import(tmp_path, file)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "1 would start" in done.stdout
    assert f"{file}:1: attributes: " in done.stderr
    assert "surrogate" in errors.read_text()


@pytest.mark.slow
def test_the_errors_file_cannot_be_the_file_imported(tmp_path: Path) -> None:
    """Attack review of issue 27 (second pass): `--errors` naming the file being imported
    (a slip in a cron line: `--errors placements.csv`) opened it for writing first: the
    day's placements were gone, the run said "0 rows ... 0 bad" and exited 0."""
    file = tmp_path / "placements.csv"
    file.write_text(",".join(PLAIN) + "\n" + plain_line("E-1"))
    before = file.read_bytes()
    env = {**os.environ, "RAPPORT_DATA_DIR": str(tmp_path / "data")}
    command = [sys.executable, "-m", "rapport.cli", "import", str(file), "--dry-run"]
    for named in (file, tmp_path / "." / "placements.csv"):
        done = subprocess.run(
            [*command, "--errors", str(named)],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        assert done.returncode == 1
        assert "is the file being imported" in done.stderr
        assert file.read_bytes() == before
