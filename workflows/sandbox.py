"""Temporal's workflow sandbox, with our pure modules and their libraries passed through.

Passing a module through means it is imported once, outside the sandbox:
`zoneinfo` then works normally in the policy math, and jinja2, yaml, babel
and pydantic are not re-imported for every cached workflow (a module that is
not passed through costs about 11x the memory per cached workflow).

`DelinquencyJourney` itself runs without the sandbox (`sandboxed=False`).
Measured on this machine: sandboxed, a cached journey took 218 KB of worker
memory and a replay twice the plain workflow's CPU, because every cached
journey re-imported the workflow's modules; passing those through left a
thin sandboxed class that guarded nothing and still cost 38 KB a journey.
What the sandbox would check, `tests/workflows/test_determinism.py` checks
statically for every module of `workflows/` (no clock, randomness, I/O,
threads or environment), with import-linter (no I/O packages reach workflow
code) and the replay tests of recorded histories. The worker keeps this
runner for any other workflow it may be given.
"""

from __future__ import annotations

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

PASSTHROUGH = (
    "rapport",
    "jinja2",
    "markupsafe",
    "yaml",
    "babel",
    "pydantic",
    "pydantic_core",
    "annotated_types",
    "zoneinfo",
    "tzdata",
)


def workflow_runner() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH)
    )
