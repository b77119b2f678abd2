"""A text carries one link: every link lands on the same page of options."""

from __future__ import annotations

from pathlib import Path

from tests.journey_files import problems_of, write_journey

ONE_TEXT = """\
id: texts
version: 1
name: One text
steps:
  - {id: first, send: {channel: sms, template: two}}
"""


def test_a_text_with_two_links_is_refused_with_its_line(tmp_path: Path) -> None:
    path = write_journey(
        tmp_path,
        ONE_TEXT,
        {"two.sms.j2": "Pay {{ links.pay_now }}\nor plan {{ links.plan }} {{ opt_out }}\n"},
    )
    [problem] = problems_of(path)
    assert "a text carries one link (2 here)" in str(problem)
    assert "two.sms.j2" in str(problem)


def test_a_text_with_one_link_passes(tmp_path: Path) -> None:
    path = write_journey(
        tmp_path, ONE_TEXT, {"two.sms.j2": "Pay or plan: {{ links.pay_now }} {{ opt_out }}\n"}
    )
    assert problems_of(path) == []
