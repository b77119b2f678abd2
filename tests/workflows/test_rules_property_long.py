"""The rule-pack property of test_rules_property.py, drawn 300 times (slow: a few minutes
on the 2-core machine): random accounts, packs and journeys, and the simulated timeline
never breaks a rule of the account's packs nor the journey's own policy."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from temporalio.testing import WorkflowEnvironment

from tests.workflows.test_rules_property import cases, check


@pytest.mark.slow
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=cases())
async def test_three_hundred_timelines_never_break_a_rule_of_the_accounts_packs(
    env: WorkflowEnvironment, tmp_path_factory: Any, case: dict[str, Any]
) -> None:
    await check(env, tmp_path_factory, case)
