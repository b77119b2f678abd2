"""Helpers that write a small journey and its templates into a folder, for tests."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

from rapport.language.loader import load_journey
from rapport.language.problems import DefinitionError, Problem

BASE = """\
id: test-journey
version: 1
name: Test journey
segments:
  - {id: loyal, when: "account.history.tenure_months >= 24"}
steps:
  - id: reminder
    send: {channel: email, template: reminder, fallback: sms}
  - id: pause
    wait: 2d
  - id: nudge
    send: {channel: sms, template: nudge}
"""

TEMPLATES = {
    "reminder.email.j2": "Subject: Hello {{ customer.first_name }}\n\n{{ balance }} due.\n{{ opt_out }}\n",
    "reminder.sms.j2": "Hi {{ customer.first_name }}, {{ balance }} due. {{ opt_out }}\n",
    "nudge.sms.j2": "Still {{ balance }}. {{ links.pay_now }} {{ opt_out }}\n",
    "thanks.email.j2": "Subject: Thank you\n\nPaid in full. {{ opt_out }}\n",
    "thanks.sms.j2": "Thank you, paid in full. {{ opt_out }}\n",
    "partial.sms.j2": "Thanks! {{ balance }} left. {{ opt_out }}\n",
    "call.voice.j2": "Hello {{ customer.first_name }}, about {{ balance }}.\n",
    "offer.email.j2": (
        "Subject: A plan for {{ balance }}\n\n"
        "{% for o in plan.options %}{{ o.installments }} x {{ o.amount }}\n{% endfor %}"
        "{{ opt_out }}\n"
    ),
}


def write_journey(
    folder: Path,
    definition: str = BASE,
    templates: Mapping[str, str | None] | None = None,
    name: str = "journey.yaml",
) -> Path:
    """Write a definition and the base templates (a None value deletes one)."""
    (folder / "templates").mkdir(parents=True, exist_ok=True)
    merged: dict[str, str | None] = {**TEMPLATES, **(templates or {})}
    for file, source in merged.items():
        target = folder / "templates" / file
        if source is None:
            target.unlink(missing_ok=True)
        else:
            target.write_text(source)
    path = folder / name
    path.write_text(textwrap.dedent(definition))
    return path


def problems_of(path: Path) -> list[Problem]:
    try:
        load_journey(path)
    except DefinitionError as exc:
        return exc.problems
    return []


def only_problem(path: Path) -> Problem:
    problems = problems_of(path)
    assert len(problems) == 1, "\n".join(str(p) for p in problems)
    return problems[0]
