"""JSON Schemas for everything a billing system in any language sends or receives.

    .venv/bin/python -m rapport.schemas      # rewrite schemas/ after a contract change

A test fails when a file in `schemas/` no longer matches the models.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from rapport.contracts import (
    AcceptedPlan,
    AcceptPlan,
    Engagement,
    JourneyResult,
    JourneyStart,
    JourneyStatus,
    Note,
    OptOut,
    PaymentReceived,
)
from rapport.language.account import Account
from rapport.language.models import JourneyDefinition

FOLDER = Path(__file__).resolve().parent.parent / "schemas"

SCHEMAS: dict[str, tuple[type[BaseModel], str]] = {
    "journey-input": (JourneyStart, "input of the DelinquencyJourney workflow"),
    "account": (Account, "an account, as a billing system hands it over"),
    "payment_received": (PaymentReceived, "signal payment_received"),
    "opt_out": (OptOut, "signal opt_out"),
    "engagement": (Engagement, "signal engagement"),
    "note": (Note, "signals cease_communication, hardship_reported, dispute, "
                   "dispute_resolved, pause, resume (payload optional)"),
    "accept_plan": (AcceptPlan, "update accept_plan: request"),
    "accepted_plan": (AcceptedPlan, "update accept_plan: result"),
    "journey-result": (JourneyResult, "result of the DelinquencyJourney workflow"),
    "journey-status": (JourneyStatus, "query status: result"),
    "journey-definition": (JourneyDefinition, "a journey definition (for editors)"),
}


def schema(name: str) -> dict[str, Any]:
    model, description = SCHEMAS[name]
    mode = "serialization" if name in ("accepted_plan", "journey-result",
                                        "journey-status") else "validation"
    generated = model.model_json_schema(mode=mode)  # type: ignore[arg-type]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"{name}.schema.json", "description": description, **generated}


def rendered(name: str) -> str:
    return json.dumps(schema(name), indent=2, sort_keys=True) + "\n"


def write(folder: Path = FOLDER) -> None:
    folder.mkdir(exist_ok=True)
    for name in SCHEMAS:
        (folder / f"{name}.schema.json").write_text(rendered(name))


if __name__ == "__main__":
    write()
    print(f"wrote {len(SCHEMAS)} schemas to {FOLDER}")
