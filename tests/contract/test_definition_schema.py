"""The journey definition's JSON Schema, as an editor uses it: every property described
with an example, closed sets as enums, defaults that pass their own rules, and a step's
kind choosing its schema so the editor names the field at fault."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from rapport.contract.schemas import schema

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = schema("journey-definition")
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def properties(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property of every object in the schema, with where it is."""
    if isinstance(node, dict):
        for name, value in (node.get("properties") or {}).items():
            yield f"{where}/properties/{name}", value
        for key, value in node.items():
            if key != "properties":
                yield from properties(value, f"{where}/{key}")
        for name, value in (node.get("properties") or {}).items():
            yield from properties(value, f"{where}/properties/{name}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from properties(value, f"{where}/{index}")


ALL = list(properties(SCHEMA))


def test_every_property_has_a_description_and_an_example() -> None:
    assert len(ALL) > 50
    missing = [where for where, p in ALL if not p.get("description") or not p.get("examples")]
    assert missing == []


@pytest.mark.parametrize(("where", "prop"), [(w, p) for w, p in ALL if "default" in p])
def test_every_default_passes_its_own_rules(where: str, prop: dict[str, Any]) -> None:
    rules = {k: v for k, v in prop.items() if k != "default"}
    validator = jsonschema.Draft202012Validator({**rules, "$defs": SCHEMA["$defs"]})
    assert list(validator.iter_errors(prop["default"])) == [], where


@pytest.mark.parametrize(("where", "prop"), [(w, p) for w, p in ALL if "examples" in p])
def test_every_example_passes_its_own_rules(where: str, prop: dict[str, Any]) -> None:
    rules = {k: v for k, v in prop.items() if k not in ("default", "examples")}
    validator = jsonschema.Draft202012Validator({**rules, "$defs": SCHEMA["$defs"]})
    for example in prop["examples"]:
        assert list(validator.iter_errors(example)) == [], (where, example)


def _enum_of(prop: dict[str, Any]) -> list[Any] | None:
    for candidate in [prop, *prop.get("anyOf", []), prop.get("items", {})]:
        if "enum" in candidate:
            return list(candidate["enum"])
    return None


def test_closed_sets_are_enums() -> None:
    defs = SCHEMA["$defs"]
    channels = ["email", "sms", "voice", "letter", "push", "webhook"]
    for message in ("Sendable", "SendAction", "PlanOffer"):
        assert _enum_of(defs[message]["properties"]["channel"]) == channels
        assert _enum_of(defs[message]["properties"]["fallback"]) == channels
    assert _enum_of(defs["WaitUntil"]["properties"]["any_of"]) == [
        "paid",
        "replied",
        "plan_accepted",
    ]
    assert _enum_of(defs["Cap"]["properties"]["channel"]) == ["all", *channels]
    assert _enum_of(defs["Policy"]["properties"]["on_cap"]) == ["defer", "skip"]
    assert _enum_of(defs["Policy"]["properties"]["days"]) == [
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
        "sat",
        "sun",
    ]


def test_the_shipped_journeys_pass_the_schema() -> None:
    for path in (ROOT / "journeys").glob("*.yaml"):
        assert list(VALIDATOR.iter_errors(yaml.safe_load(path.read_text()))) == [], path


def errors_of(step: dict[str, Any]) -> list[tuple[str, str]]:
    journey = {"id": "j", "version": 1, "name": "J", "steps": [step]}
    return [
        ("/".join(str(p) for p in e.absolute_path), e.message)
        for e in VALIDATOR.iter_errors(journey)
    ]


def test_a_bad_field_in_a_step_is_named_where_it_is() -> None:
    """Not "is not valid under any of the given schemas" for the whole step."""
    found = errors_of({"id": "x", "send": {"channel": "fax", "template": "t"}})
    assert found == [("steps/0/send/channel", found[0][1])]
    assert "'fax' is not one of" in found[0][1]
    found = errors_of(
        {
            "id": "x",
            "offer_plan": {
                "channel": "email",
                "template": "t",
                "installments": [2],
                "respond_whithin": "7d",
            },
        }
    )
    paths = {path for path, _ in found}
    assert paths == {"steps/0/offer_plan"}
    assert any("respond_whithin" in message for _, message in found)
    assert any("'respond_within' is a required property" in message for _, message in found)


def test_wait_until_and_transactional_are_in_the_schema_with_their_rules() -> None:
    """An editor names a wait_until's unknown event and its missing timeout, and takes
    `transactional` on a send and a notice (not on an offer, which is outreach)."""
    found = errors_of({"id": "x", "wait_until": {"any_of": ["paid", "answered"]}})
    paths = {path for path, _ in found}
    assert paths == {"steps/0/wait_until", "steps/0/wait_until/any_of/1"}
    assert any("'timeout' is a required property" in message for _, message in found)
    ok = {"id": "x", "wait_until": {"any_of": ["paid", "replied"], "timeout": "7d"}}
    assert errors_of(ok) == []
    send = {"channel": "email", "template": "t", "transactional": True}
    assert errors_of({"id": "x", "send": send}) == []
    offer = {**send, "installments": [2], "respond_within": "7d"}
    assert [p for p, _ in errors_of({"id": "x", "offer_plan": offer})] == ["steps/0/offer_plan"]
    journey = {
        "id": "j",
        "version": 1,
        "name": "J",
        "on_partial_payment": {"send": send},
        "steps": [{"id": "x", "wait": "1d"}],
    }
    assert list(VALIDATOR.iter_errors(journey)) == []


def test_a_step_with_two_kinds_names_the_second() -> None:
    found = errors_of({"id": "x", "wait": "3d", "end": "done"})
    assert any("'end' was unexpected" in message or "end" in message for _, message in found)
    assert all(path == "steps/0" for path, _ in found)
