"""Every designer command, given broken and hostile files, answers in plain words: one
line per problem naming the file, no traceback and none of the machinery's jargon
(tests/language/test_plain_words.py walks the schema's errors field by field; this walks
the commands a designer types)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.journey_files import write_journey
from tests.language.test_plain_words import JARGON
from tests.language.test_validate_all import EIGHT_MISTAKES

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = ROOT / "examples" / "accounts" / "due_soon.yaml"
BOMB = "\n".join(
    ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
)


def journey(*args: str) -> str:
    """stdout and stderr of `journey ARGS`, in a process of its own (as a designer runs
    it: some commands end the process themselves)."""
    proc = subprocess.run(
        [sys.executable, "-m", "rapport.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
    return proc.stdout + proc.stderr


def assert_plain(output: str, *files: Path) -> None:
    assert "Traceback" not in output, output
    for word in JARGON:
        assert word not in output, (word, output)
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines, output
    assert any(str(file) in output for file in files), output


@pytest.fixture
def broken(tmp_path: Path) -> dict[str, Path]:
    """A journey with eight mistakes, a YAML bomb, a self-including template, a scenario
    with a misspelt event and expectation, an account with a wrong field."""
    files = {"mistakes": write_journey(tmp_path / "a", EIGHT_MISTAKES)}
    files["bomb"] = tmp_path / "bomb.yaml"
    files["bomb"].write_text(BOMB + "\nid: bomb\nversion: 1\nname: b\n")
    files["loops"] = write_journey(
        tmp_path / "b", templates={"nudge.sms.j2": "{% include 'nudge.sms.j2' %}{{ opt_out }}"}
    )
    files["valid"] = write_journey(tmp_path / "c")
    files["account"] = tmp_path / "account.yaml"
    files["account"].write_text(ACCOUNT.read_text().replace("balance:", "balanse:"))
    files["scenario"] = tmp_path / "c" / "scenario.yaml"
    files["scenario"].write_text(
        "journey: journey.yaml\nstart: +0d\n"
        f"account_file: {ACCOUNT}\n"
        "events:\n  - {at: tomorrow, type: payment_recieved}\n"
        "expect:\n  sent:\n    - {step: nuge}\n"
    )
    return files


@pytest.mark.slow
def test_every_designer_command_answers_broken_files_plainly(broken: dict[str, Path]) -> None:
    mistakes, bomb, loops = broken["mistakes"], broken["bomb"], broken["loops"]
    valid, account, scenario = broken["valid"], broken["account"], broken["scenario"]
    template = loops.parent / "templates" / "nudge.sms.j2"
    for args, files in [
        (["validate", str(mistakes), str(bomb), str(loops)], [mistakes, bomb, template]),
        (["diagram", str(bomb)], [bomb]),
        (["diagram", str(mistakes)], [mistakes]),
        (["diff", str(mistakes), str(valid)], [mistakes]),
        (["diff", str(valid), str(loops)], [template]),
        (["preview", str(loops), "--account", str(ACCOUNT)], [template]),
        (["preview", str(valid), "--account", str(account)], [account]),
        (["preview", str(valid), "--account", str(ACCOUNT), "--step", "nuge"], [valid]),
        (["simulate", str(scenario)], [scenario]),
        (["test", str(scenario)], [scenario]),
    ]:
        assert_plain(journey(*args), *files)
