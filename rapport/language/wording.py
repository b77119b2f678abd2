"""Schema errors in a designer's words: what is wrong, the value quoted, what would do.

The schema's own messages speak of inputs, lists and dictionaries ("Input should be
greater than or equal to 1"); a designer wrote a YAML file. `describe` turns each
error into a sentence that repeats the bad value and says what is allowed, with a
"did you mean" where a close name exists.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from rapport.language.problems import Path, did_you_mean, quoted

# Patterns of the language's value types, said as a designer would read them.
PATTERNS = {
    r"^[a-z0-9][a-z0-9_-]*$": (
        "is not an id: use lowercase letters, digits, '-' and '_', starting with a letter or digit"
    ),
    r"^[A-Za-z0-9._-]{1,64}$": "is not an account id: 1-64 letters, digits, '.', '_' or '-'",
    r"^\+[1-9]\d{6,14}$": "is not a phone number in international form such as +15555550101",
    r"^[^@\s]+@[^@\s]+\.[^@\s]+$": "is not an email address",
}


def clean_path(loc: tuple[Any, ...], data: Any) -> Path:
    """The field path as the designer wrote it: drop the tags the schema inserts for the
    kinds of steps and events (`steps.0.wait-step.wait`), names that are not keys of
    the data at that point, unless they are the last part (an unknown or missing key)."""
    path: list[str | int] = []
    for position, part in enumerate(loc):
        is_last = position == len(loc) - 1
        if isinstance(data, dict):
            if part in data:
                data = data[part]
            elif not is_last:
                continue
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        elif isinstance(part, str) and not is_last and ("-" in part or "_event" in part):
            continue
        path.append(part)
    return tuple(path)


def describe(error: ErrorDetails, root: type[BaseModel], data: Any) -> tuple[Path, str]:
    """The path and the designer's message for one schema error."""
    path = clean_path(tuple(error["loc"]), data)
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        key = str(path[-1]) if path else "?"
        keys = allowed_keys(root, data, path[:-1])
        hint = did_you_mean(key, keys) if keys else ""
        listing = f"; keys here: {', '.join(keys)}" if keys and not hint else ""
        return path, f"unknown key {key!r}{hint}{listing}"
    if kind == "missing":
        return path, "required"
    describer = _DESCRIBERS.get(kind)
    if describer is not None:
        return path, describer(value, ctx)
    return path, _fallback(error["msg"], value)


def _literal(value: Any, ctx: dict[str, Any]) -> str:
    expected = str(ctx.get("expected", ""))
    choices = re.findall(r"'([^']*)'", expected)
    hint = did_you_mean(str(value), choices) if isinstance(value, str) else ""
    if hint:  # "'sunday' is not allowed; did you mean 'sun'? (use 'mon', ... or 'sun')"
        return f"{quoted(value)} is not allowed{hint} (use {expected})"
    return f"{quoted(value)} is not allowed: use {expected}"


def _too_short(value: Any, ctx: dict[str, Any]) -> str:
    least = ctx.get("min_length", 1)
    if isinstance(value, list | tuple):
        if not value:
            return f"is empty: give at least {least}"
        return f"has {len(value)}; give at least {least}"
    return f"needs at least {least} entries"


def _too_long(value: Any, ctx: dict[str, Any]) -> str:
    most = ctx.get("max_length")
    count = len(value) if hasattr(value, "__len__") else ctx.get("actual_length")
    return f"has {count} entries; at most {most}"


def _string_too_short(value: Any, ctx: dict[str, Any]) -> str:
    least = ctx.get("min_length", 1)
    return "must not be empty" if least == 1 else f"{quoted(value)} is shorter than {least}"


def _string_too_long(value: Any, ctx: dict[str, Any]) -> str:
    return (
        f"{quoted(value, 30)} is {len(str(value))} characters long; at most {ctx.get('max_length')}"
    )


def _pattern(value: Any, ctx: dict[str, Any]) -> str:
    said = PATTERNS.get(str(ctx.get("pattern")))
    if said is None:
        return f"{quoted(value)} is not in the expected form ({ctx.get('pattern')})"
    suggestion = ""
    if said.startswith("is not an id") and isinstance(value, str):
        slug = re.sub(r"[^a-z0-9_-]+", "_", value.strip().lower()).strip("_-")
        suggestion = f", e.g. {slug!r}" if slug else ""
    return f"{quoted(value)} {said}{suggestion}"


def _bound(word: str, key: str) -> Callable[[Any, dict[str, Any]], str]:
    def say(value: Any, ctx: dict[str, Any]) -> str:
        return f"{quoted(value)} is too {word}: {_BOUND_WORDS[key]} {ctx.get(key)}"

    return say


_BOUND_WORDS = {"ge": "at least", "gt": "more than", "le": "at most", "lt": "less than"}


def _plainly(what: str) -> Callable[[Any, dict[str, Any]], str]:
    return lambda value, ctx: f"{quoted(value)} {what}"


def _union_tag(value: Any, ctx: dict[str, Any]) -> str:
    tag, expected = ctx.get("tag"), str(ctx.get("expected_tags", ""))
    choices = re.findall(r"'([^']*)'", expected)
    field = ctx.get("discriminator", "type").strip("'")
    hint = did_you_mean(str(tag), choices)
    if hint:  # "type 'payment_recieved' is not known; did you mean 'payment_received'?"
        return f"{field} {quoted(tag)} is not known{hint} (use {expected})"
    return f"{field} {quoted(tag)} is not known: use {expected}"


def _union_tag_missing(value: Any, ctx: dict[str, Any]) -> str:
    return f"{ctx.get('discriminator', 'type')!s} is required: use {ctx.get('expected_tags', '')}"


def _step_kind(value: Any, ctx: dict[str, Any]) -> str:
    from rapport.language.models import STEP_KINDS

    kinds = [k for k in STEP_KINDS if isinstance(value, dict) and k in value]
    base = "a step has an id and exactly one of: " + ", ".join(STEP_KINDS)
    if not isinstance(value, dict):
        return f"{quoted(value)} is not a step: {base}"
    if not kinds:
        others = [str(k) for k in value if k != "id"]
        hint = did_you_mean(others[0], STEP_KINDS) if others else ""
        found = f"; this one has {', '.join(others)}{hint}" if others else "; this one has none"
        return base + found
    return f"{base}; this one has {' and '.join(kinds)}"


def _value_error(value: Any, ctx: dict[str, Any]) -> str:
    error = ctx.get("error")
    return str(error) if error is not None else f"{quoted(value)} is not allowed here"


_DESCRIBERS: dict[str, Callable[[Any, dict[str, Any]], str]] = {
    "literal_error": _literal,
    "enum": _literal,
    "too_short": _too_short,
    "too_long": _too_long,
    "string_too_short": _string_too_short,
    "string_too_long": _string_too_long,
    "string_pattern_mismatch": _pattern,
    "greater_than_equal": _bound("small", "ge"),
    "greater_than": _bound("small", "gt"),
    "less_than_equal": _bound("large", "le"),
    "less_than": _bound("large", "lt"),
    "string_type": _plainly("is not text: write it in quotes"),
    "string_unicode": _plainly("is not text"),
    "int_type": _plainly("is not a whole number"),
    "int_parsing": _plainly("is not a whole number"),
    "int_from_float": _plainly("is not a whole number"),
    "float_type": _plainly("is not a number"),
    "float_parsing": _plainly("is not a number"),
    "bool_type": _plainly("is not true or false"),
    "bool_parsing": _plainly("is not true or false"),
    "dict_type": _plainly("is not a group of keys: write `key: value` lines under it"),
    "model_type": _plainly("is not a group of keys: write `key: value` lines under it"),
    "model_attributes_type": _plainly("is not a group of keys"),
    "list_type": _plainly("is not a list: write one `- item` per line, or [a, b]"),
    "decimal_type": _plainly('is not an amount: write it as a string such as "25.00"'),
    "decimal_parsing": _plainly('is not an amount: write it as a string such as "25.00"'),
    "decimal_max_digits": _plainly("has too many digits"),
    "decimal_max_places": _plainly("has too many decimal places"),
    "date_type": _plainly("is not a date such as 2028-02-20"),
    "date_parsing": _plainly("is not a date such as 2028-02-20"),
    "date_from_datetime_parsing": _plainly("is not a date such as 2028-02-20"),
    "date_from_datetime_inexact": _plainly("is not a date such as 2028-02-20 (no time of day)"),
    "datetime_type": _plainly("is not a date and time such as 2028-03-01T07:30"),
    "datetime_parsing": _plainly("is not a date and time such as 2028-03-01T07:30"),
    "datetime_from_date_parsing": _plainly("is not a date and time such as 2028-03-01T07:30"),
    "time_type": _plainly('is not a clock time such as "08:00"'),
    "time_parsing": _plainly('is not a clock time such as "08:00"'),
    "timedelta_type": _plainly("is not a duration such as 90m, 36h, 1d12h or 2w"),
    "timedelta_parsing": _plainly("is not a duration such as 90m, 36h, 1d12h or 2w"),
    "union_tag_invalid": _union_tag,
    "union_tag_not_found": _union_tag_missing,
    "step_kind": _step_kind,
    "value_error": _value_error,
    "assertion_error": _value_error,
    "frozen_instance": _plainly("cannot be changed"),
}


def _fallback(message: str, value: Any) -> str:
    """An error type not in the table: reword the schema's own phrasing."""
    message = message.removeprefix("Value error, ")
    for jargon, plain in (
        ("Input should be", "should be"),
        ("List should have", "needs"),
        ("Dictionary should have", "needs"),
        ("String should", "should"),
        ("a valid dictionary", "a group of keys"),
        ("a valid list", "a list"),
    ):
        message = message.replace(jargon, plain)
    return f"{quoted(value)}: {message}" if value is not None else message


# --- which keys are allowed where: for "unknown key ... did you mean" ---------------------


def allowed_keys(root: type[BaseModel], data: Any, path: Path) -> list[str]:
    """The keys the model at `path` takes, or [] when the path is free-form."""
    annotation: Any = root
    for part in path:
        model = model_of(annotation, data)
        if model is not None:
            field = model.model_fields.get(part) if isinstance(part, str) else None
            if field is None:
                return []
            annotation = field.annotation
        else:
            annotation = _item_type(annotation, part)
            if annotation is None:
                return []
        data = _child(data, part)
    model = model_of(annotation, data)
    return list(model.model_fields) if model is not None else []


def _child(data: Any, part: str | int) -> Any:
    if isinstance(data, dict):
        return data.get(part)
    if isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
        return data[part]
    return None


def unwrap(annotation: Any) -> Any:
    while get_origin(annotation) is typing.Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _item_type(annotation: Any, part: str | int) -> Any:
    annotation = unwrap(annotation)
    for member in members(annotation):
        origin = get_origin(member)
        if origin is list and isinstance(part, int):
            return get_args(member)[0]
        if origin is dict and isinstance(part, str):
            return get_args(member)[1]
    return None


def members(annotation: Any) -> list[Any]:
    annotation = unwrap(annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        return [unwrap(a) for a in get_args(annotation)]
    return [annotation]


def model_of(annotation: Any, data: Any) -> type[BaseModel] | None:
    """The model an annotation stands for; of a union of models, the one the data fits best."""
    models = [m for m in members(annotation) if isinstance(m, type) and issubclass(m, BaseModel)]
    if not models:
        return None
    if len(models) == 1 or not isinstance(data, dict):
        return models[0]
    return max(models, key=lambda m: _fit(m, data))


def _fit(model: type[BaseModel], data: dict[Any, Any]) -> int:
    score = sum(1 for key in data if key in model.model_fields)
    for name, field in model.model_fields.items():
        if get_origin(field.annotation) is typing.Literal and data.get(name) in get_args(
            field.annotation
        ):
            score += 100
    return score
