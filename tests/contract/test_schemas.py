"""The JSON Schemas in schemas/ match the contract models, and describe real payloads."""

from __future__ import annotations

import json
import re
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


def _schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FOLDER / f"{name}.schema.json").read_text())
    return loaded


def test_amounts_are_positive_and_currencies_are_codes_in_the_schemas() -> None:
    """A client generated from schemas/ refuses what the journey would refuse."""
    for amount in ("-5.00", "0", "0.00", "-0.01"):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(
                {"amount": amount, "payment_id": "P-1"}, _schema("payment_received")
            )
    for amount in ("0.01", "5", "182.40", "123456789012.50"):
        jsonschema.validate({"amount": amount, "payment_id": "P-1"}, _schema("payment_received"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(
            {"amount": "5", "payment_id": "P", "currency": "usd"}, _schema("payment_received")
        )
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"balance": "-1.00"}, _schema("account_updated"))
    jsonschema.validate({"balance": "0.00"}, _schema("account_updated"))  # zero: paid
    account = _schema("account")
    assert account["properties"]["currency"]["pattern"] == "^[A-Z]{3}$"
    assert not re.match(account["properties"]["balance"]["pattern"], "-1.00")


def test_what_a_journey_reports_has_every_field_required() -> None:
    """status, the result and an accepted plan always carry every field: their schemas say
    so (a TypeScript client generated from them needs no undefined checks)."""
    for name in ("journey-status", "journey-result", "accepted_plan"):
        document = _schema(name)
        for model in [document, *document.get("$defs", {}).values()]:
            if model.get("type") == "object" and "properties" in model:
                assert sorted(model.get("required", [])) == sorted(model["properties"]), (
                    name,
                    model.get("title"),
                )


def test_every_signal_maps_to_its_schema_file() -> None:
    from rapport.contract.schemas import MAP, rendered_map
    from rapport.contract.signals import SIGNALS

    path = FOLDER / MAP
    assert path.read_text() == rendered_map(), (
        f"{path} is stale: run python -m rapport.contract.schemas"
    )
    mapping = json.loads(path.read_text())
    assert set(mapping["signals"]) == set(SIGNALS)
    named = [
        mapping["input"],
        mapping["result"],
        *(s["schema"] for s in mapping["signals"].values()),
        *(f for u in mapping["updates"].values() for f in u.values()),
        *(q["result"] for q in mapping["queries"].values()),
    ]
    for file in named:
        assert (FOLDER / file).exists(), file
    assert mapping["signals"]["payment_received"]["schema"] == "payment_received.schema.json"
