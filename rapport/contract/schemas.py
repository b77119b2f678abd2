"""JSON Schemas for everything a billing system in any language sends or receives.

    .venv/bin/python -m rapport.contract.schemas   # rewrite schemas/ after a contract change

A test fails when a file in `schemas/` no longer matches the models. Signal payloads
come from the signal table, so a new signal gets its schema without a change here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from rapport.compliance.packs import RulePack
from rapport.contract.journey import (
    JourneyResult,
    JourneyStart,
    JourneyStatus,
    MigrationPreview,
    MigrationPreviewRequest,
)
from rapport.contract.names import (
    ACCEPT_PLAN_UPDATE,
    MIGRATION_PREVIEW_QUERY,
    STATUS_QUERY,
    TASK_QUEUE,
    WORKFLOW_TYPE,
    workflow_id,
)
from rapport.contract.payloads import AcceptPlan
from rapport.contract.records import AcceptedPlan
from rapport.contract.signals import SIGNALS
from rapport.language.account import Account
from rapport.language.models import JourneyDefinition

FOLDER = Path(__file__).resolve().parents[2] / "schemas"


def _signal_schemas() -> dict[str, tuple[type[BaseModel], str]]:
    users: dict[str, list[str]] = {}
    for name, signal in SIGNALS.items():
        users.setdefault(signal.schema, []).append(name)
    found: dict[str, tuple[type[BaseModel], str]] = {}
    for schema, names in users.items():
        signal = SIGNALS[names[0]]
        what = f"signal {names[0]}" if len(names) == 1 else f"signals {', '.join(names)}"
        found[schema] = (
            signal.payload,
            what + (" (payload optional)" if signal.payload_optional else ""),
        )
    return found


SCHEMAS: dict[str, tuple[type[BaseModel], str]] = {
    "journey-input": (JourneyStart, "input of the DelinquencyJourney workflow"),
    "account": (Account, "an account, as a billing system hands it over"),
    **_signal_schemas(),
    "accept_plan": (AcceptPlan, "update accept_plan: request"),
    "accepted_plan": (AcceptedPlan, "update accept_plan: result"),
    "journey-result": (JourneyResult, "result of the DelinquencyJourney workflow"),
    "journey-status": (JourneyStatus, "query status: result"),
    "migration-preview-request": (
        MigrationPreviewRequest,
        "query migration_preview: request (journey migrate --dry-run)",
    ),
    "migration-preview": (MigrationPreview, "query migration_preview: result"),
    "journey-definition": (JourneyDefinition, "a journey definition (for editors)"),
    "rule-pack": (RulePack, "a rule pack, journeys/rules/<pack>.yaml (for editors)"),
}
_SERIALIZED = ("accepted_plan", "journey-result", "journey-status", "migration-preview")


def schema(name: str) -> dict[str, Any]:
    model, description = SCHEMAS[name]
    mode = "serialization" if name in _SERIALIZED else "validation"
    generated = model.model_json_schema(mode=mode)  # type: ignore[arg-type]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{name}.schema.json",
        "description": description,
        **generated,
    }


def rendered(name: str) -> str:
    return json.dumps(schema(name), indent=2, sort_keys=True) + "\n"


MAP = "workflow.json"


def workflow_map() -> dict[str, Any]:
    """Every name of the workflow's contract with the schema file of what it takes and
    gives: a client in any language looks a signal's payload up here."""
    return {
        "description": "The DelinquencyJourney workflow: each name with the schema file (in "
        "this folder) of what it takes and gives",
        "workflow_type": WORKFLOW_TYPE,
        "task_queue": TASK_QUEUE,
        "workflow_id": workflow_id("<account_id>"),
        "input": "journey-input.schema.json",
        "result": "journey-result.schema.json",
        "signals": {
            name: {
                "schema": f"{signal.schema}.schema.json",
                "payload_optional": signal.payload_optional,
                "effect": signal.effect,
                **({"operators_only": True} if signal.operators_only else {}),
            }
            for name, signal in SIGNALS.items()
        },
        "updates": {
            ACCEPT_PLAN_UPDATE: {
                "request": "accept_plan.schema.json",
                "result": "accepted_plan.schema.json",
            }
        },
        "queries": {
            STATUS_QUERY: {"result": "journey-status.schema.json"},
            MIGRATION_PREVIEW_QUERY: {
                "request": "migration-preview-request.schema.json",
                "result": "migration-preview.schema.json",
            },
        },
    }


def rendered_map() -> str:
    return json.dumps(workflow_map(), indent=2) + "\n"


def write(folder: Path = FOLDER) -> None:
    folder.mkdir(exist_ok=True)
    for name in SCHEMAS:
        (folder / f"{name}.schema.json").write_text(rendered(name))
    (folder / MAP).write_text(rendered_map())


if __name__ == "__main__":
    write()
    print(f"wrote {len(SCHEMAS)} schemas to {FOLDER}")
