"""Temporal's workflow sandbox, with our pure modules and their libraries passed through.

Passing a module through means it is imported once, outside the sandbox:
`zoneinfo` then works normally in the policy math, and jinja2, yaml, babel
and pydantic are not re-imported for every cached workflow (a module that is
not passed through costs about 11x the memory per cached workflow).

The journey's own modules (`steps`, `delivery`, `core`, `state`,
`operator_view`) are deterministic by construction and passed through too:
re-importing them in each workflow's sandbox cost 130 KB per cached journey
and doubled the CPU of a replay. What the sandbox no longer checks for them,
`tests/workflows/test_determinism.py` does (no clock, randomness, I/O or
threads in workflow code), with import-linter (no I/O packages) and the replay
tests. Only `journey.py`, the thin class Temporal sees, runs sandboxed.
"""

from __future__ import annotations

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

PASSTHROUGH = ("rapport", "workflows.steps", "workflows.delivery", "workflows.core",
               "workflows.state", "workflows.operator_view", "jinja2", "markupsafe", "yaml",
               "babel", "pydantic", "pydantic_core", "annotated_types", "zoneinfo", "tzdata")


def workflow_runner() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
    )
