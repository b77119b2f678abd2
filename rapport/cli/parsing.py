"""Reading what people type: `key=value` fields and installments (amounts:
`rapport.money.parse_amount`)."""

from __future__ import annotations

import json
from typing import Any

MONEY_FIELDS = ("balance", "minimum_due")


def parse_update(fields: tuple[str, ...]) -> dict[str, Any]:
    """`journey update` fields: `balance=120.00 customer.email=a@b.c consent.sms=false`
    as a partial account (money stays a decimal string; true/false and numbers are read)."""
    update: dict[str, Any] = {}
    for key, text in parse_fields(fields).items():
        parts = key.split(".")
        target = update
        for part in parts[:-1]:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise ValueError(f"{key!r}: {part} is a value, not a group of fields")
        target[parts[-1]] = text if parts[-1] in MONEY_FIELDS else _scalar(text)
    return update


def _scalar(text: str) -> Any:
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, bool | int | type(None)) else text


def parse_fields(fields: tuple[str, ...]) -> dict[str, str]:
    """`key=value` arguments of `journey signal`."""
    values: dict[str, str] = {}
    for field in fields:
        key, sep, value = field.partition("=")
        if not sep or not key:
            raise ValueError(f"{field!r}: write fields as key=value, e.g. channel=sms")
        values[key] = value
    return values


def parse_installments(values: dict[str, str]) -> int:
    text = values.get("installments", "")
    if not text.isdecimal() or not text.isascii():
        raise ValueError(f"accept_plan needs installments=N, a whole number (got {text!r})")
    return int(text)
