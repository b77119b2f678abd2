"""`when:` expressions: sandboxed Jinja2, compiled once, with exactly the spec's names.

Names: `account`, `segment`, `journey`. Calls are not allowed (the allowlisted filters
and tests are), and the attribute paths under `account` and `journey` are checked
against the account model before a journey starts, so `account.histroy` is a
validation error rather than a silently false condition at run time. Each evaluation
runs on the sandbox's budget (the workflow evaluates these in its own thread): a few
milliseconds at most, for any account.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import TemplateSyntaxError, nodes

from rapport.language.names import account_problem, listed_problem
from rapport.language.problems import did_you_mean
from rapport.language.sandbox import BoundedSandbox, attribute_paths, budgeted, unknown_names

NAMES = ("account", "segment", "journey")
MAX_SOURCE = 2_000  # characters: a condition, not a program
JOURNEY_FIELDS = (
    "messages_sent",
    "days_elapsed",
    "engaged",
    "last_channel",
    "step",
    "amount_paid",
    "payments",
    "replied",
)

_ENV = BoundedSandbox(autoescape=False)


class ExpressionError(ValueError):
    """An expression that does not compile or names something that does not exist."""


@lru_cache(maxsize=1024)
def compile_expression(source: str) -> Callable[..., Any]:
    """Compile once; raises ExpressionError with a designer-readable message."""
    if len(source) > MAX_SOURCE:
        raise ExpressionError(f"an expression is at most {MAX_SOURCE} characters")
    try:
        ast = _ENV.parse("{{ " + source + " }}")
    except TemplateSyntaxError as exc:
        raise ExpressionError(f"expression does not compile: {_plain(exc.message)}") from None
    problems = list(_name_problems(ast))
    if problems:
        raise ExpressionError("; ".join(problems))
    try:
        return _ENV.compile_expression(source, undefined_to_none=False)
    except TemplateSyntaxError as exc:
        raise ExpressionError(f"expression does not compile: {_plain(exc.message)}") from None


def evaluate(source: str, context: Mapping[str, Any], legacy: bool = False) -> Any:
    """Evaluate a compiled expression; any failure raises ExpressionError. `legacy`: as
    journeys begun before sandbox version 2 evaluated it (`sandbox.SANDBOX_VERSION`)."""
    compiled = compile_expression(source)
    try:
        with budgeted(legacy):
            return compiled(**context)
    except Exception as exc:  # a defect of the definition, reported, never fatal
        raise ExpressionError(f"{source!r} failed: {exc}") from None


def is_true(source: str | None, context: Mapping[str, Any], legacy: bool = False) -> bool:
    return True if source is None else bool(evaluate(source, context, legacy))


def segment_names(source: str) -> list[str]:
    """The segment ids an expression compares `segment` with (`segment == 'loyal'`,
    `segment in ['a', 'b']`), for the validator to check against the journey's own."""
    try:
        ast = _ENV.parse("{{ " + source + " }}")
    except TemplateSyntaxError:
        return []
    found: list[str] = []
    for compare in ast.find_all(nodes.Compare):
        operands = [compare.expr, *(operand.expr for operand in compare.ops)]
        if not any(isinstance(o, nodes.Name) and o.name == "segment" for o in operands):
            continue
        for operand in operands:
            items = operand.items if isinstance(operand, nodes.List | nodes.Tuple) else [operand]
            found += [
                item.value
                for item in items
                if isinstance(item, nodes.Const) and isinstance(item.value, str)
            ]
    return found


def _name_problems(ast: nodes.Template) -> list[str]:
    problems: list[str] = []
    problems += [f"{what} is not allowed in an expression" for what, _ in unknown_names(ast)]
    if any(True for _ in ast.find_all(nodes.Call)):
        problems.append("calls are not allowed in expressions; use filters such as | length")
    for name in ast.find_all(nodes.Name):
        if name.ctx == "load" and name.name not in NAMES:
            hint = did_you_mean(name.name, NAMES)
            problems.append(
                f"unknown name {name.name!r}{hint or '; expressions may use ' + ', '.join(NAMES)}"
            )
    for path in attribute_paths(ast):
        problem = _path_problem(path)
        if problem:
            problems.append(problem)
    return problems


def _path_problem(path: list[str]) -> str | None:
    root = path[0]
    if root == "journey":
        if len(path) > 2 and path[1] in JOURNEY_FIELDS:  # every fact is a plain value
            return f"journey.{path[1]} has no {path[2]!r}"
        return listed_problem(path, JOURNEY_FIELDS)
    if root != "account":
        return None
    return account_problem(path)


def _plain(message: str | None) -> str:
    """Jinja calls the end of an expression 'end of print statement'."""
    return (message or "syntax error").replace(
        "end of print statement", "the end of the expression"
    )
