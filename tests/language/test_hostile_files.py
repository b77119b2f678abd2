"""A designer's file is untrusted input: the attacks of the workbench's review, each
replayed through `journey validate`. Every one gets one line naming the file and the
line, quickly, never a traceback, a hang or a machine out of memory."""

from __future__ import annotations

import time
from pathlib import Path

from click.testing import CliRunner

from rapport.cli import main
from rapport.language.yaml_source import MAX_CHARACTERS, MAX_DEPTH
from tests.journey_files import BASE, write_journey

TAIL = "version: 1\nname: x\nsteps:\n  - {id: e, end: done}\n"


def validate(path: Path) -> tuple[int, list[str], float]:
    began = time.monotonic()
    result = CliRunner().invoke(main, ["validate", str(path)])
    took = time.monotonic() - began
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result.exit_code, result.output.strip().splitlines(), took


def test_a_billion_laughs_is_refused_at_once(tmp_path: Path) -> None:
    """Nine lines whose aliases of aliases expand to 9**9 values."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\nid: bomb\n" + TAIL)
    code, lines_out, took = validate(path)
    assert code == 1
    [line] = lines_out
    assert line.startswith(f"{path}:")
    assert "aliases (*name) are expanded" in line
    assert took < 10


def test_an_alias_inside_its_own_anchor_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "endless.yaml"
    path.write_text("id: x\n" + TAIL + "segments: &s\n  - {id: a, when: 'true', more: *s}\n")
    code, lines_out, _ = validate(path)
    assert code == 1
    assert lines_out == [
        f"{path}:6: (yaml): an alias (*name) inside the value it names (&name): it would never end"
    ]


def test_deep_nesting_is_refused_with_its_line(tmp_path: Path) -> None:
    for opening, closing in (("[", "]"), ("{a: ", "}")):
        path = tmp_path / "deep.yaml"
        path.write_text("id: x\nversion: 1\nname: " + opening * 5000 + "1" + closing * 5000 + "\n")
        code, lines_out, _ = validate(path)
        assert code == 1
        assert lines_out == [
            f"{path}:3: (yaml): values nested more than {MAX_DEPTH} deep: a journey nests a "
            "few levels"
        ]


def test_aliases_cannot_nest_deeper_than_the_file_may(tmp_path: Path) -> None:
    lines = ["a0: &a0 [1]"] + [f"a{i}: &a{i} [[[*a{i - 1}]]]" for i in range(1, 30)]
    path = tmp_path / "aliases.yaml"
    path.write_text("\n".join(lines) + "\nid: x\n" + TAIL)
    code, lines_out, _ = validate(path)
    assert code == 1
    [line] = lines_out
    assert f"nested more than {MAX_DEPTH} deep once its aliases" in line


def test_a_huge_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    text = "id: x\n" + TAIL.replace("name: x", "name: " + "x" * MAX_CHARACTERS)
    path.write_text(text)
    code, lines_out, took = validate(path)
    assert code == 1
    assert lines_out == [
        f"{path}:1: (file): the file is {len(text):,} characters: at most "
        f"{MAX_CHARACTERS:,} (a journey is a few thousand)"
    ]
    assert took < 10


def test_thousands_of_steps_are_refused_in_seconds(tmp_path: Path) -> None:
    """20,000 steps took minutes (each step's successors rebuilt the index of all)."""
    steps = "".join(
        f"  - {{id: w{i}, wait: 1d}}\n  - {{id: b{i}, branch: [{{when: 'true', goto: w0}}]}}\n"
        for i in range(10_000)
    )
    path = tmp_path / "long.yaml"
    path.write_text("id: long\nversion: 1\nname: Long\nsteps:\n" + steps)
    code, lines_out, took = validate(path)
    assert code == 1
    assert lines_out == [
        f"{path}:4: steps: 20000 steps: a journey has at most 500; split it in two"
    ]
    assert took < 20


def test_five_hundred_steps_validate_in_seconds(tmp_path: Path) -> None:
    steps = "".join(
        f"  - {{id: w{i}, wait: 1d}}\n"
        f"  - {{id: b{i}, branch: [{{when: 'journey.replied', goto: w0}}]}}\n"
        for i in range(250)
    )
    path = write_journey(tmp_path, "id: long\nversion: 1\nname: Long\nsteps:\n" + steps)
    code, lines_out, took = validate(path)
    assert (code, lines_out[-1]) == (0, f"ok  {path}  (long v1)")
    assert took < 10
    assert BASE  # the helper's templates sit beside it
