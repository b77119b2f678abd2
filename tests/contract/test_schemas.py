"""The JSON Schemas in schemas/ match the contract models, and describe real payloads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from rapport.contract.schemas import FOLDER, SCHEMAS, rendered

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_schema_file_is_current(name: str) -> None:
    path = FOLDER / f"{name}.schema.json"
    assert path.exists(), f"{path} is missing: run .venv/bin/python -m rapport.contract.schemas"
    assert path.read_text() == rendered(name), (
        f"{path} is stale: run .venv/bin/python -m rapport.contract.schemas"
    )


def test_an_example_start_and_payloads_validate() -> None:
    def load(name: str) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((FOLDER / f"{name}.schema.json").read_text())
        return loaded

    account = yaml.safe_load((ROOT / "examples/accounts/loyal_first_miss.yaml").read_text())
    account["due_date"] = str(account["due_date"])
    jsonschema.validate({"account": account, "journey": "early-stage"}, load("journey-input"))
    jsonschema.validate({"amount": "50.00", "payment_id": "P-1"}, load("payment_received"))
    for refused in (
        {"amount": "50.00"},
        {"amount": 50.0, "payment_id": "P-1"},
        {"amount": "1e309", "payment_id": "P-1"},
        {"amount": "1234567890123.00", "payment_id": "P-1"},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(refused, load("payment_received"))
    jsonschema.validate(
        {"balance": "120.00", "customer": {"email": "d@example.com"}}, load("account_updated")
    )
    jsonschema.validate({"installments": 3}, load("accept_plan"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"channel": "fax"}, load("opt_out"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"account": account, "colour": "red"}, load("journey-input"))
