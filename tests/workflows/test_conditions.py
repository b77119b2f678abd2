"""Conditions a designer writes with the filters the docs list reach the customer: a
`when:` using `select` (which takes Jinja's context) used to fail for every account,
counted as false, so the VIP never got the VIP message (and `journey validate` said
nothing)."""

from __future__ import annotations

from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from tests.scenarios import account, simulate_journey

VIP = """\
id: vip
version: 1
name: VIPs get a call first
steps:
  - id: route
    branch:
      - {when: "account.attributes.tags|select('equalto', 'vip')|list|length > 0", goto: vip}
  - {id: plain, send: {channel: sms, template: nudge}}
  - {id: done, end: exhausted}
  - {id: vip, send: {channel: email, template: reminder}}
"""


async def test_a_condition_using_select_takes_its_branch(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    timeline = await simulate_journey(
        env, tmp_path, VIP, customer=account(attributes={"tags": ["new", "vip"]}), days=2
    )
    assert [(m["step"], m["channel"]) for m in timeline["messages"]] == [("vip", "email")]
    assert timeline["errors"] == []
