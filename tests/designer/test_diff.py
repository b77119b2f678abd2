"""`journey diff OLD NEW`: what a designer changed between two versions, in their words."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from rapport.cli import main
from tests.journey_files import BASE, write_journey

NEWER = (
    BASE.replace("version: 1", "version: 2")
    .replace("name: Test journey", "name: Gentler test journey")
    .replace("wait: 2d", "wait: 3d")
    .replace(
        '  - {id: loyal, when: "account.history.tenure_months >= 24"}',
        '  - {id: loyal, when: "account.history.tenure_months >= 36"}\n'
        '  - {id: behind, when: "account.days_past_due > 14"}',
    )
    .replace(
        "send: {channel: sms, template: nudge}",
        "send: {channel: sms, template: nudge_v2, fallback: email, when: 'not journey.engaged'}",
    )
    .replace(
        "steps:", "policy:\n  min_gap: 1d\n  caps:\n    - {channel: sms, max: 2, per: 7d}\nsteps:"
    )
    + "  - id: route\n    branch:\n      - {when: \"segment == 'behind'\", goto: reminder}\n"
)


def diff(old: Path, new: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["diff", str(old), str(new)])
    return result.exit_code, result.output


def test_what_changed_in_the_designers_words(tmp_path: Path) -> None:
    old = write_journey(tmp_path / "v1")
    new = write_journey(
        tmp_path / "v2",
        NEWER,
        {
            "nudge_v2.sms.j2": "Still {{ balance }}, {{ customer.first_name }}. "
            "{{ links.pay_now }} {{ opt_out }}\n",
            "nudge_v2.email.j2": "Subject: Still open\n\n{{ balance }}\n{{ opt_out }}\n",
            "reminder.sms.j2": "Hello {{ customer.first_name }}, {{ balance }} due. {{ opt_out }}\n",
        },
    )
    code, out = diff(old, new)
    assert code == 0, out
    assert out.splitlines()[:30] == [
        f"{old} (test-journey v1) -> {new} (test-journey v2)",
        "",
        "journey:",
        "  version: 1 -> 2",
        "  name: 'Test journey' -> 'Gentler test journey'",
        "",
        "policy:",
        "  cap added: sms: at most 2 per 7d",
        "  min_gap: 0m -> 1d",
        "",
        "segments:",
        "  loyal: when account.history.tenure_months >= 24 -> account.history.tenure_months >= 36",
        "  added behind: when account.days_past_due > 14",
        "",
        "steps:",
        "  added route (after nudge): branch: if segment == 'behind' go to reminder",
        "  pause: wait: 2d -> 3d",
        "  nudge: fallback: none -> email",
        "  nudge: template: nudge -> nudge_v2",
        "  nudge: only when: none -> 'not journey.engaged'",
        "",
        "templates:",
        "  removed nudge.sms.j2 (no message uses it now)",
        "  added nudge_v2.email.j2",
        "  added nudge_v2.sms.j2",
        "  changed reminder.sms.j2:",
        f"    --- {tmp_path / 'v1' / 'templates' / 'reminder.sms.j2'}",
        f"    +++ {tmp_path / 'v2' / 'templates' / 'reminder.sms.j2'}",
        "    @@ -1 +1 @@",
        "    -Hi {{ customer.first_name }}, {{ balance }} due. {{ opt_out }}",
    ]
    assert "  nudge.sms.j2 -> nudge_v2.sms.j2:" in out
    assert (
        "    +Still {{ balance }}, {{ customer.first_name }}. {{ links.pay_now }} {{ opt_out }}"
        in out
    )


def test_a_step_that_changed_kind_and_steps_that_moved(tmp_path: Path) -> None:
    old = write_journey(tmp_path, name="a.yaml")
    moved = BASE.replace(
        "  - id: pause\n    wait: 2d\n  - id: nudge\n    send: {channel: sms, template: nudge}\n",
        "  - id: nudge\n    send: {channel: sms, template: nudge}\n  - id: pause\n    end: done\n",
    )
    code, out = diff(old, write_journey(tmp_path, moved, name="b.yaml"))
    assert code == 0, out
    assert "  order: reminder, pause, nudge -> reminder, nudge, pause" in out
    assert "  pause: was wait 2d; now end: done" in out


def test_the_same_journey_has_no_differences(tmp_path: Path) -> None:
    path = write_journey(tmp_path)
    code, out = diff(path, path)
    assert code == 0
    assert out.splitlines()[-1] == "no differences"


def test_an_invalid_version_is_reported_like_validate(tmp_path: Path) -> None:
    old = write_journey(tmp_path, name="a.yaml")
    new = write_journey(tmp_path, BASE.replace("wait: 2d", "wait: soon"), name="b.yaml")
    code, out = diff(old, new)
    assert code == 1
    assert f"{new}:10: steps[1].wait: 'soon' is not a duration" in out
