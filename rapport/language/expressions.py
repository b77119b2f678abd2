"""`when:` expressions: sandboxed Jinja2, compiled once, with exactly the spec's names.

Names: `account`, `segment`, `journey`. Calls are not allowed (filters are),
and the attribute paths under `account` and `journey` are checked against
the account model before a journey starts, so `account.histroy` is a
validation error rather than a silently false condition at run time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import TemplateSyntaxError, nodes
from pydantic import BaseModel

from rapport.language.account import Account
from rapport.language.sandbox import BoundedSandbox, attribute_paths

NAMES = ("account", "segment", "journey")
JOURNEY_FIELDS = ("messages_sent", "days_elapsed", "engaged", "last_channel", "step")

_ENV = BoundedSandbox(autoescape=False)


class ExpressionError(ValueError):
    """An expression that does not compile or names something that does not exist."""


@lru_cache(maxsize=1024)
def compile_expression(source: str) -> Callable[..., Any]:
    """Compile once; raises ExpressionError with a designer-readable message."""
    try:
        ast = _ENV.parse("{{ " + source + " }}")
    except TemplateSyntaxError as exc:
        raise ExpressionError(f"expression does not compile: {exc.message}") from None
    problems = list(_name_problems(ast))
    if problems:
        raise ExpressionError("; ".join(problems))
    try:
        return _ENV.compile_expression(source, undefined_to_none=False)
    except TemplateSyntaxError as exc:
        raise ExpressionError(f"expression does not compile: {exc.message}") from None


def evaluate(source: str, context: Mapping[str, Any]) -> Any:
    """Evaluate a compiled expression; any failure raises ExpressionError."""
    compiled = compile_expression(source)
    try:
        return compiled(**context)
    except Exception as exc:  # a defect of the definition, reported, never fatal
        raise ExpressionError(f"{source!r} failed: {exc}") from None


def is_true(source: str | None, context: Mapping[str, Any]) -> bool:
    return True if source is None else bool(evaluate(source, context))


def _name_problems(ast: nodes.Template) -> list[str]:
    problems: list[str] = []
    if any(True for _ in ast.find_all(nodes.Call)):
        problems.append("calls are not allowed in expressions; use filters such as | length")
    for name in ast.find_all(nodes.Name):
        if name.ctx == "load" and name.name not in NAMES:
            problems.append(f"unknown name {name.name!r}; expressions may use {', '.join(NAMES)}")
    for path in attribute_paths(ast):
        problem = _path_problem(path)
        if problem:
            problems.append(problem)
    return problems


def _path_problem(path: list[str]) -> str | None:
    root, rest = path[0], path[1:]
    if root == "journey":
        if rest[0] not in JOURNEY_FIELDS:
            return f"journey has no {rest[0]!r}; it has {', '.join(JOURNEY_FIELDS)}"
        return None
    if root != "account":
        return None
    if any(part.startswith("_") for part in rest):
        return f"private names such as {'.'.join(path)} are not allowed"
    model: type[BaseModel] | None = Account
    walked = ["account"]
    for part in rest:
        if model is None:
            return f"{'.'.join(walked)} has no {part!r}"
        fields = model.model_fields
        if part not in fields:
            return f"{'.'.join(walked)} has no {part!r}; it has {', '.join(fields)}"
        if part in ("attributes", "consent"):
            return None  # free-form mappings
        annotation = fields[part].annotation
        model = (
            annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else None
        )
        walked.append(part)
    return None
