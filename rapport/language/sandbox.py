"""The Jinja2 sandbox templates and expressions run in, with bounds on the work they do.

Jinja's own sandbox stops attribute tricks but not arithmetic: `7 ** (7 ** 9)` or
`'a' * 10**8` would block a worker for minutes. Here every operator that can make
a huge value is checked before it runs, `range` is short, the filters that pad to
a width are capped, and a whole render has a time budget (`render_within`), so a
template can never hang `journey validate` or a worker.
"""

from __future__ import annotations

import ctypes
import operator
import threading
from collections.abc import Callable, Sized
from typing import Any, TypeVar

from jinja2 import StrictUndefined, filters, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

MAX_SIZE = 100_000  # characters or items any one value may have
MAX_RANGE = 1_000
MAX_INTEGER_BITS = 256
RENDER_SECONDS = 1.0

T = TypeVar("T")


class RenderTimeout(Exception):
    """A render ran past its time budget and was stopped."""


def _size(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return 0
    return len(value) if isinstance(value, Sized) else 0


def _check_power(left: Any, right: Any) -> None:
    if isinstance(right, int | float) and abs(right) > 64:
        raise SecurityError("a power may not exceed 64")
    if (
        isinstance(left, int)
        and isinstance(right, int)
        and right > 0
        and left.bit_length() * right > MAX_INTEGER_BITS
    ):
        raise SecurityError("that power is too large")


def _check_product(left: Any, right: Any) -> None:
    for value, times in ((left, right), (right, left)):
        if isinstance(times, int) and _size(value) * max(times, 0) > MAX_SIZE:
            raise SecurityError(f"that would make a value longer than {MAX_SIZE}")
    if (
        isinstance(left, int)
        and isinstance(right, int)
        and left.bit_length() + right.bit_length() > MAX_INTEGER_BITS
    ):
        raise SecurityError("that number is too large")


def _check_sum(left: Any, right: Any) -> None:
    if _size(left) + _size(right) > MAX_SIZE:
        raise SecurityError(f"that would make a value longer than {MAX_SIZE}")


_CHECKS: dict[str, Callable[[Any, Any], None]] = {
    "**": _check_power,
    "*": _check_product,
    "+": _check_sum,
    "~": _check_sum,
    "%": lambda left, right: _check_width(left),
}


def _check_width(value: Any) -> None:
    """`'%999999999s' % x` pads to a width: keep widths small."""
    if isinstance(value, str) and any(
        len(part) > 4 for part in "".join(c if c.isdigit() else " " for c in value).split()
    ):
        raise SecurityError("format widths are limited to 4 digits")


def _range(*args: int) -> range:
    values = range(*args)
    if len(values) > MAX_RANGE:
        raise SecurityError(f"range is limited to {MAX_RANGE} items")
    return values


def _width_capped(name: str, position: int) -> Callable[..., Any]:
    original = filters.FILTERS[name]

    def capped(*args: Any, **kwargs: Any) -> Any:
        widths = [a for a in args[position:] if isinstance(a, int)] + [
            v for v in kwargs.values() if isinstance(v, int)
        ]
        if any(abs(w) > MAX_RANGE for w in widths):
            raise SecurityError(f"{name} is limited to a width of {MAX_RANGE}")
        return original(*args, **kwargs)

    capped.jinja_pass_arg = getattr(original, "jinja_pass_arg", None)  # type: ignore[attr-defined]
    return capped


class BoundedSandbox(SandboxedEnvironment):
    intercepted_binops = frozenset(_CHECKS)

    def __init__(self, **options: Any) -> None:
        super().__init__(undefined=StrictUndefined, **options)
        self.globals["range"] = _range
        for name, position in (("center", 1), ("indent", 1), ("wordwrap", 2), ("truncate", 2)):
            self.filters[name] = _width_capped(name, position)
        self.filters["format"] = _bounded_format

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        _CHECKS[operator_name](left, right)
        return _OPERATORS[operator_name](left, right)


def _bounded_format(value: Any, *args: Any, **kwargs: Any) -> str:
    _check_width(str(value))
    result = filters.do_format(value, *args, **kwargs)
    if len(result) > MAX_SIZE:
        raise SecurityError(f"that would make a value longer than {MAX_SIZE}")
    return result


_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "**": operator.pow,
    "*": operator.mul,
    "+": operator.add,
    "%": operator.mod,
    "~": lambda left, right: f"{left}{right}",
}


def render_within(work: Callable[[], T], seconds: float = RENDER_SECONDS) -> T:
    """Run `work` (a render) in a thread; past `seconds`, stop it and raise RenderTimeout.

    The bounds above make a long render unlikely; this catches what they cannot, such
    as loops nested over the customer's data. A Python thread cannot be killed, so
    the render is interrupted with an asynchronous exception, which lands at its next
    bytecode: every Jinja loop is Python bytecode."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="template-render", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(thread.ident or 0), ctypes.py_object(RenderTimeout)
        )
        thread.join(1.0)
        raise RenderTimeout(f"rendering took longer than {seconds:g} s")
    if "error" in outcome:
        error = outcome["error"]
        if isinstance(error, RenderTimeout):
            raise RenderTimeout(f"rendering took longer than {seconds:g} s")
        raise error
    return outcome["value"]  # type: ignore[no-any-return]


def static_chain(node: nodes.Node, inner: set[int]) -> tuple[nodes.Name | None, list[str]]:
    """The name an attribute chain starts from and the attributes read from it (`account.
    history.tenure_months` → account, [history, tenure_months]); each node walked is
    added to `inner`. A computed key keeps only what is read above it."""
    chain: list[str] = []
    while isinstance(node, nodes.Getattr | nodes.Getitem):
        inner.add(id(node))
        if isinstance(node, nodes.Getattr):
            chain.insert(0, node.attr)
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            chain.insert(0, node.arg.value)
        else:
            chain = []  # a computed key below this point: keep what is above it
        node = node.node
    return (node if isinstance(node, nodes.Name) else None), chain


def attribute_paths(ast: nodes.Node) -> list[list[str]]:
    """Outermost attribute chains such as ['account', 'history', 'tenure_months']."""
    paths: list[list[str]] = []
    inner: set[int] = set()
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        if id(node) in inner:
            continue
        root, chain = static_chain(node, inner)
        if chain and root is not None:
            paths.append([root.name, *chain])
    return paths
