"""The names a billing system in any language uses to reach a journey."""

from __future__ import annotations

WORKFLOW_TYPE = "DelinquencyJourney"
TASK_QUEUE = "collections"
STATUS_QUERY = "status"
MIGRATION_PREVIEW_QUERY = "migration_preview"  # `journey migrate --dry-run`
ACCEPT_PLAN_UPDATE = "accept_plan"


def workflow_id(account_id: str) -> str:
    """One running journey per account: `delinquency-<account_id>`."""
    return f"delinquency-{account_id}"
