"""`journey diagram`: steps, waits with their durations, branches with their conditions,
ends, steps no path reaches; and the pictures in the docs are today's journeys."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from rapport.cli import main
from tests.journey_files import BASE, write_journey

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "journeys").glob("*.yaml"))
PICTURES = ROOT / "docs" / "images" / "journeys"
GOLDEN = Path(__file__).parent / "golden"


def diagram(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["diagram", *args])
    return result.exit_code, result.output


def test_golden_mermaid_of_the_early_stage_journey() -> None:
    """Read the golden file: it is what a designer sees (`make diagrams` rewrites the
    docs' pictures; this file is rewritten by hand when the drawing is meant to change)."""
    code, out = diagram(str(ROOT / "journeys" / "early_stage.yaml"))
    assert code == 0, out
    assert out == (GOLDEN / "early_stage.mmd").read_text()


@pytest.mark.parametrize("journey", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_the_docs_show_every_shipped_journey_as_it_is(journey: Path) -> None:
    code, out = diagram(str(journey), "--format", "svg")
    assert code == 0, out
    picture = PICTURES / f"{journey.stem}.svg"
    assert picture.exists(), f"{picture} is missing: run `make diagrams`"
    assert out == picture.read_text(), f"{picture} is stale: run `make diagrams`"
    assert (
        f"images/journeys/{journey.stem}.svg"
        in (ROOT / "docs" / "designing-journeys.md").read_text()
    )


def test_steps_waits_branches_and_ends_are_drawn(tmp_path: Path) -> None:
    text = BASE + (
        "  - id: route\n    branch:\n      - {when: \"segment == 'loyal'\", goto: done}\n"
        "  - id: orphan_free\n    wait: 90m\n  - id: done\n    end: handed_off\n"
        "  - id: orphan\n    send: {channel: sms, template: nudge}\n"
    )
    code, out = diagram(str(write_journey(tmp_path, text)))
    assert code == 0, out
    assert 'n_pause["<b>pause</b><br/>wait 2d"]' in out
    assert "n_route -->|\"if segment == 'loyal'\"| n_done" in out
    assert 'n_route -->|"otherwise"| n_orphan_free' in out
    assert 'n_done(["<b>done</b><br/>ends: handed_off"])' in out
    assert "UNREACHABLE: no path leads here" in out
    assert "class n_orphan unreachable" in out
    assert "class n_orphan_free wait" in out


def test_svg_is_a_picture_with_every_step(tmp_path: Path) -> None:
    code, out = diagram(str(ROOT / "journeys" / "early_stage.yaml"), "--format", "svg")
    assert code == 0
    root = ET.fromstring(out)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    for step in ("reminder", "first_pause", "route", "plan", "handoff", "done"):
        assert step in texts
    assert "wait 3d" in texts
    assert "if segment == 'hardship'" in texts
    assert "on a plan" in texts  # a plan accepted is followed (on_plan), not an end
    assert "paid off" in texts
    assert "broken: a missed installment" in texts
    assert "ends: plan_accepted" not in texts


def test_a_folder_is_drawn_into_another(tmp_path: Path) -> None:
    code, out = diagram(str(ROOT / "journeys"), "--format", "svg", "--out", str(tmp_path))
    assert code == 0, out
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{p.stem}.svg" for p in SHIPPED]
    code, out = diagram(str(ROOT / "journeys"))
    assert code == 1
    assert f"{len(SHIPPED)} journeys: give one file, or --out FOLDER to write each" in out


def test_an_invalid_journey_is_not_drawn(tmp_path: Path) -> None:
    code, out = diagram(str(write_journey(tmp_path, BASE.replace("wait: 2d", "wait: soon"))))
    assert code == 1
    assert "steps[1].wait: 'soon' is not a duration" in out


def test_steps_whose_ids_read_alike_stay_apart(tmp_path: Path) -> None:
    """A step named `start`, or `a-b` beside `a_b`, was drawn as one node with the other:
    Mermaid ids keep letters, digits and `_` only, and the start node was `start` too."""
    path = write_journey(
        tmp_path,
        "id: ids\nversion: 1\nname: Ids\nsteps:\n"
        "  - {id: start, wait: 1d}\n"
        "  - {id: a-b, wait: 1d}\n"
        '  - {id: a_b, branch: [{when: "journey.replied", goto: start}]}\n'
        "  - {id: on_paid, end: done}\n"
        "on_paid:\n  send: {channel: email, template: thanks}\n",
    )
    code, out = diagram(str(path))
    assert code == 0, out
    assert '  n_start(["<b>start</b>"])\n  n_start_2["<b>start</b><br/>wait 1d"]' in out
    assert "  n_a_b --> n_a_b_2\n" in out
    assert '  n_a_b_2 -->|"if journey.replied"| n_start_2\n' in out
    assert "  n_on_paid_2[" in out  # the on_paid block beside the step named on_paid
    code, svg = diagram(str(path), "--format", "svg")
    assert code == 0, svg
    boxes = ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}rect")
    assert sum(1 for _ in boxes) >= 6  # start, four steps, the on_paid block


def test_a_line_break_in_a_name_or_condition_cannot_write_mermaid(tmp_path: Path) -> None:
    """`name: "x\\nclick n_a href ..."` ended the comment line and added a click."""
    path = write_journey(
        tmp_path,
        'id: inj\nversion: 1\nname: "x\\nclick n_w href \\"javascript:alert(1)\\""\nsteps:\n'
        "  - id: route\n"
        "    branch:\n"
        "      - {when: \"account.attributes.x != 'a\\nclick n_w call alert()'\", goto: w}\n"
        "  - {id: w, wait: 1d}\n",
    )
    code, out = diagram(str(path))
    assert code == 0, out
    assert not any(line.lstrip().startswith("click") for line in out.splitlines())
    assert '%% x click n_w href "javascript:alert(1)" (inj v1)' in out.splitlines()[0]
