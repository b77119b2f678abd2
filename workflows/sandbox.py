"""Temporal's workflow sandbox, with our pure modules and their libraries passed through.

Passing a module through means it is imported once, outside the sandbox:
`zoneinfo` then works normally in the policy math, and jinja2, yaml, babel
and pydantic are not re-imported for every cached workflow (a module that is
not passed through costs about 11x the memory per cached workflow). The
journey's state and operator view are pure data and functions, passed through
for the same reason; only the modules holding workflow code run sandboxed.
"""

from __future__ import annotations

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

PASSTHROUGH = ("rapport", "workflows.state", "workflows.operator_view", "jinja2", "markupsafe",
               "yaml", "babel", "pydantic", "pydantic_core", "annotated_types", "zoneinfo",
               "tzdata")


def workflow_runner() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
    )
