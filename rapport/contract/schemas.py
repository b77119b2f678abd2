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
from rapport.contract.journey import JourneyResult, JourneyStart, JourneyStatus
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
    "journey-definition": (JourneyDefinition, "a journey definition (for editors)"),
    "rule-pack": (RulePack, "a rule pack, journeys/rules/<pack>.yaml (for editors)"),
}
_SERIALIZED = ("accepted_plan", "journey-result", "journey-status")


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


def write(folder: Path = FOLDER) -> None:
    folder.mkdir(exist_ok=True)
    for name in SCHEMAS:
        (folder / f"{name}.schema.json").write_text(rendered(name))


if __name__ == "__main__":
    write()
    print(f"wrote {len(SCHEMAS)} schemas to {FOLDER}")
