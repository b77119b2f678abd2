"""`journey db upgrade` and `journey consent`, as an operator types them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from rapport.cli import main
from rapport.store.database import Store


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("RAPPORT_DATABASE_URL", f"sqlite:///{tmp_path / 'rapport.db'}")
    return CliRunner()


def test_db_upgrade_brings_the_store_to_the_current_revision(cli: CliRunner) -> None:
    result = cli.invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0
    assert (
        result.output == f"store at revision {Store(os.environ['RAPPORT_DATABASE_URL']).head()}\n"
    )


def test_an_operator_reads_and_corrects_a_consent_record(cli: CliRunner) -> None:
    cli.invoke(main, ["db", "upgrade"])
    stop = cli.invoke(
        main,
        [
            "consent",
            "A-1",
            "--address",
            "+1 212-555-0100",
            "--record",
            "opt_out",
            "--channel",
            "sms",
        ],
    )
    assert stop.exit_code == 0, stop.output
    assert "  sms     opted_out: operator at " in stop.output
    assert "  email   allowed" in stop.output
    fixed = cli.invoke(
        main,
        [
            "consent",
            "A-1",
            "--address",
            "+12125550100",
            "--record",
            "opt_in",
            "--channel",
            "sms",
            "--json",
        ],
    )
    record = json.loads(fixed.output)
    assert record["channels"]["sms"] == "allowed"
    assert [(e["action"], e["address"] or e["account_id"]) for e in record["entries"]] == [
        ("opt_out", "A-1"),
        ("opt_out", "+12125550100"),
        ("opt_in", "A-1"),
        ("opt_in", "+12125550100"),
    ]


def test_bad_input_is_one_clear_line(cli: CliRunner) -> None:
    cli.invoke(main, ["db", "upgrade"])
    address = cli.invoke(main, ["consent", "A-1", "--address", "555-0100"])
    channel = cli.invoke(main, ["consent", "A-1", "--record", "opt_out", "--channel", "fax"])
    assert address.exit_code == 1
    assert "--address '555-0100': neither" in address.output
    assert channel.exit_code == 1
    assert "--channel 'fax': one of email, sms" in channel.output


@pytest.mark.slow
def test_a_cease_signalled_by_an_operator_is_kept_even_when_temporal_is_down(
    tmp_path: Path,
) -> None:
    """`journey signal ... cease_communication` writes the store first: the cease holds for
    the account's later journeys, whatever happens to the signal."""
    env = {
        **os.environ,
        "RAPPORT_DATABASE_URL": f"sqlite:///{tmp_path / 'rapport.db'}",
        "TEMPORAL_ADDRESS": "127.0.0.1:9",
    }  # nothing listens there
    journey = [sys.executable, "-m", "rapport.cli"]
    subprocess.run([*journey, "db", "upgrade"], env=env, check=True, capture_output=True)
    signal = subprocess.run(
        [*journey, "signal", "A-1", "cease_communication"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    record = subprocess.run(
        [*journey, "consent", "A-1", "--json"], env=env, capture_output=True, text=True, check=True
    )
    assert signal.returncode == 1
    assert "cannot reach Temporal" in signal.stderr
    assert json.loads(record.stdout)["channels"]["sms"].startswith("ceased: operator at ")


def test_a_stop_from_the_accounts_phone_shows_without_naming_the_address(
    cli: CliRunner, tmp_path: Path
) -> None:
    """Issue 24: after a STOP from the account's phone, `journey consent A-1` said `sms
    allowed` unless --address was given: an operator read the opposite of the truth."""
    from rapport.consent.book import ConsentBook
    from rapport.store.database import Store
    from rapport.store.recipients import RecipientIndex

    cli.invoke(main, ["db", "upgrade"])
    store = Store(f"sqlite:///{tmp_path / 'rapport.db'}")
    RecipientIndex(store).remember("+12125550100", "A-1")  # a text went to it
    RecipientIndex(store).remember("+13125550199", "A-1")  # and to a second phone
    ConsentBook(store).record(
        "opt_out", "sms", "sms_keyword", address="+12125550100", reference="SM-1"
    )
    shown = cli.invoke(main, ["consent", "A-1"])
    record = json.loads(cli.invoke(main, ["consent", "A-1", "--json"]).output)
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    sms = next(line for line in lines if line.startswith("  sms "))
    assert sms.split()[1] != "allowed"
    assert "opted_out: sms_keyword at " in sms
    assert "(+12125550100); allowed to +13125550199" in sms
    assert any(line.startswith("  voice   allowed") for line in lines)
    assert "  +12125550100  (from texts)" in lines
    assert any("opt_out  sms    sms_keyword  SM-1" in line for line in lines)
    assert "  +13125550199  (from texts)  no entries" in lines
    assert record["addresses"] == ["+12125550100", "+13125550199"]
    assert record["channels"]["sms"].startswith("opted_out: sms_keyword at ")
    assert record["by_address"]["sms"]["+13125550199"] == "allowed"
    assert [(e["action"], e["address"]) for e in record["entries"]] == [("opt_out", "+12125550100")]


def test_a_stop_from_the_only_phone_is_the_accounts_answer(cli: CliRunner, tmp_path: Path) -> None:
    from rapport.consent.book import ConsentBook
    from rapport.store.database import Store
    from rapport.store.recipients import RecipientIndex

    cli.invoke(main, ["db", "upgrade"])
    store = Store(f"sqlite:///{tmp_path / 'rapport.db'}")
    RecipientIndex(store).remember("+12125550100", "A-1")
    ConsentBook(store).record("opt_out", "sms", "sms_keyword", address="+12125550100")
    shown = cli.invoke(main, ["consent", "A-1"]).output
    assert "  sms     opted_out: sms_keyword at " in shown
    assert "(+12125550100)" in shown
    assert "allowed to" not in shown
