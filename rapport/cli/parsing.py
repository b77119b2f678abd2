"""Reading what people type: payment amounts and `key=value` fields."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation


def parse_amount(text: str) -> Decimal:
    """A payment amount as a billing clerk types it; ValueError says what is wrong."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{text!r} is not an amount: give a positive decimal such as 45.00")
    return value


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
