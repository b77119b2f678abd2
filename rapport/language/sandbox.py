"""The Jinja2 sandbox templates and expressions run in, with bounded cost by construction.

Jinja's own sandbox stops attribute tricks but not work: `7 ** (7 ** 9)`, `'a' * 10**8`,
`'x'.zfill(10**9)` or a chain of `join`s would block a worker for minutes, and a time
budget cannot interrupt a C call. So here:

- only allowlisted filters, tests and methods exist (`FILTERS`, `METHODS`), each with an
  implementation that checks the size of what it would make *before* making it;
- every value any step makes (a string, a list, a number's bits) is capped (`MAX_SIZE`,
  `MAX_ITEMS`, `MAX_INTEGER_BITS`);
- every evaluation runs on a budget (`Budget`): each filter, test, method, operator,
  comparison, attribute read and loop iteration is a step, and what it handles is work,
  weighed whole (`weigh`: a list holding one list a thousand times is a thousand lists,
  so `[[x] * 100] * 100` costs what its `tojson` would), *before* the step runs; the
  static text a template outputs (its own, an included template's, a macro's) is work
  too; past `MAX_STEPS` or `MAX_WORK` it stops with `BudgetExceeded`.

So no expression or template can take more than a few milliseconds for any account
(tests/language/test_bounded_cost.py generates them from the whole grammar and times
them), and `journey validate` refuses what the allowlists do not hold
(`unknown_names`). Rendering happens in activities; `render_within` keeps its time
budget there as a second line.
"""

from __future__ import annotations

import contextvars
import ctypes
import operator
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sized
from contextlib import contextmanager
from decimal import Decimal
from typing import Any, TypeVar

from jinja2 import Environment, StrictUndefined, filters, nodes, pass_context, tests
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context, LoopContext, Macro
from jinja2.sandbox import SandboxedEnvironment
from jinja2.visitor import NodeTransformer

MAX_SIZE = 100_000  # characters any one string may have
MAX_ITEMS = 10_000  # items any one list, mapping or iteration may have
MAX_RANGE = 1_000
MAX_WIDTH = 1_000  # a padding or wrapping width
MAX_INTEGER_BITS = 256
MAX_EXPONENT = 1_000  # a decimal's power of ten
MAX_INDENT = 8  # tojson's indent
WRAP_WORK = 8  # wordwrap's work per character, and title's (below): Python code per chunk
TITLE_WORK = 2
MAX_STEPS = 1_000  # filters, methods, operators, attribute reads, loop iterations
MAX_WORK = 300_000  # characters handled, an item counting as ITEM_WORK
ITEM_WORK = 20
MAX_DEPTH = 20  # macros calling macros
RENDER_SECONDS = 1.0
# The sandbox's behaviour as a journey records it at its start (`Prepared.expressions`):
# 2 since filters that take Jinja's context (select, reject, map, selectattr,
# rejectattr) work; journeys that began before replay their conditions as they ran.
SANDBOX_VERSION = 2
CONTEXT_FILTERS_SINCE = 2

T = TypeVar("T")


class RenderTimeout(Exception):
    """A render ran past its time budget and was stopped."""


class BudgetExceeded(SecurityError):
    """An evaluation did more work than any message or condition needs."""


class Budget:
    def __init__(self, legacy: bool = False) -> None:
        self.steps = 0
        self.work = 0
        self.depth = 0
        # as evaluated before filters that take Jinja's context (select, map...) worked:
        # they failed. Journeys that began then replay their conditions the same way.
        self.legacy = legacy

    def charge(self, steps: int = 1, work: int = 0) -> None:
        self.steps += steps
        self.work += work
        if self.steps > MAX_STEPS:
            raise BudgetExceeded(f"more than {MAX_STEPS} steps: simplify it")
        if self.work > MAX_WORK:
            raise BudgetExceeded(f"handles more than {MAX_WORK} characters: simplify it")


_budget: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("budget", default=None)
_JINJA_INTERNALS = (Context, nodes.EvalContext, Environment)


@contextmanager
def budgeted(legacy: bool = False) -> Iterator[Budget]:
    """One evaluation's budget: every expression evaluation and template render runs in
    one (`expressions.evaluate`, `TemplateBundle.render`)."""
    budget = Budget(legacy)
    token = _budget.set(budget)
    try:
        yield budget
    finally:
        _budget.reset(token)


@contextmanager
def _deeper() -> Iterator[None]:
    """A macro (or recursive loop) calls another: at most MAX_DEPTH deep."""
    budget = _budget.get()
    if budget is None:
        yield
        return
    budget.depth += 1
    try:
        if budget.depth > MAX_DEPTH:
            raise BudgetExceeded(f"macros may call each other at most {MAX_DEPTH} deep")
        yield
    finally:
        budget.depth -= 1


def _charge(steps: int = 1, work: int = 0) -> None:
    budget = _budget.get()
    if budget is not None:
        budget.charge(steps, work)


def weigh(value: Any, limit: int = MAX_WORK) -> int:
    """The work of handling `value` whole (printing it, `tojson`, comparing or hashing it):
    its characters, and ITEM_WORK for each item, nested values counted every time they
    appear (`[x] * 100` holds x a hundred times). Counting stops once past `limit`, so
    weighing costs no more than the budget it checks."""
    total, stack = 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str | bytes | bytearray):
            total += len(item)
        elif isinstance(item, dict | list | tuple | set | frozenset):
            total += ITEM_WORK * len(item)
            if total > limit:
                return total
            if isinstance(item, dict):
                stack.extend(item.keys())
                stack.extend(item.values())
            else:
                stack.extend(item)
        else:  # a number, a date, None, a lazy sequence (counted as it is read)
            total += 1
        if total > limit:
            return total
    return total


def _spend(*values: Any) -> None:
    """Charge the whole weight of `values` before a step handles them; refuse at once
    what the rest of the budget cannot pay for (weighing stops there too)."""
    budget = _budget.get()
    if budget is None:
        return
    for value in values:
        budget.charge(0, weigh(value, MAX_WORK - budget.work + 1))


def _data(args: Iterable[Any]) -> list[Any]:
    """The values among a filter's arguments (not Jinja's context or environment)."""
    return [a for a in args if not isinstance(a, _JINJA_INTERNALS)]


def _checked(value: T) -> T:
    """Refuse a value over the caps; charge the work of making it (its whole weight)."""
    if isinstance(value, str):
        if len(value) > MAX_SIZE:
            raise SecurityError(f"that would make a value longer than {MAX_SIZE}")
    elif isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > MAX_INTEGER_BITS:
            raise SecurityError("that number is too large")
    elif isinstance(value, Decimal):
        if value.is_finite() and abs(value.adjusted()) > MAX_EXPONENT:
            raise SecurityError("that number is too large")
    elif isinstance(value, Sized) and len(value) > MAX_ITEMS:
        raise SecurityError(f"that would make a list of more than {MAX_ITEMS} items")
    _spend(value)
    return value


def _counted(items: Iterable[Any]) -> Iterator[Any]:
    """Iterate, a step per item."""
    for count, item in enumerate(items):
        if count >= MAX_ITEMS:
            raise SecurityError(f"more than {MAX_ITEMS} items")
        _charge(1)
        yield item


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _each_text(values: Iterable[Any]) -> list[str]:
    """`values` as texts, each weighed before it is printed."""
    texts = []
    for value in values:
        if not isinstance(value, str):
            _spend(value)
        texts.append(_text(value))
    return texts


# --- operators -----------------------------------------------------------------------------


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
        if isinstance(times, int) and not isinstance(value, int | float):
            length = len(value) if isinstance(value, Sized) else 0
            if isinstance(value, str) and length * max(times, 0) > MAX_SIZE:
                raise SecurityError(f"that would make a value longer than {MAX_SIZE}")
            if not isinstance(value, str) and length * max(times, 0) > MAX_ITEMS:
                raise SecurityError(f"that would make a list of more than {MAX_ITEMS} items")
    if (
        isinstance(left, int)
        and isinstance(right, int)
        and left.bit_length() + right.bit_length() > MAX_INTEGER_BITS
    ):
        raise SecurityError("that number is too large")


def _check_sum(left: Any, right: Any) -> None:
    if isinstance(left, str) or isinstance(right, str):
        if len(_text(left)) + len(_text(right)) > MAX_SIZE:
            raise SecurityError(f"that would make a value longer than {MAX_SIZE}")
    elif (
        isinstance(left, Sized) and isinstance(right, Sized) and len(left) + len(right) > MAX_ITEMS
    ):
        raise SecurityError(f"that would make a list of more than {MAX_ITEMS} items")


# A %-conversion: flags, then a width and a precision, each digits or `*` (taken from
# the arguments: `'%*s' % (10**9, x)` pads to a billion).
_CONVERSION = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?[hlL]?(.)", re.S)


def _check_width(value: Any) -> None:
    """`'%999999999s' % x` pads to a width: widths and precisions are 3 digits at most,
    and never taken from the arguments (`*`)."""
    if not isinstance(value, str) or "%" not in value:
        return
    for match in _CONVERSION.finditer(value):
        width, precision = match.group(1), match.group(2) or ""
        if "*" in (width, precision):
            raise SecurityError("a format width or precision must be written out, not '*'")
        if len(width) > 3 or len(precision) > 3:
            raise SecurityError("format widths are limited to 3 digits")


def _check_modulo(left: Any, right: Any) -> None:
    _check_width(left)
    if isinstance(left, str):  # '%s%s' % (a, b): the result is about the sum
        parts = right if isinstance(right, tuple) else (right,)
        total = len(left) + sum(len(t) for t in _each_text(parts)) + 1400 * left.count("%")
        if total > MAX_SIZE:
            raise SecurityError(f"that would make a value longer than {MAX_SIZE}")


_CHECKS: dict[str, Callable[[Any, Any], None]] = {
    "**": _check_power,
    "*": _check_product,
    "+": _check_sum,
    "~": _check_sum,
    "%": _check_modulo,
    "//": lambda left, right: None,
    "/": lambda left, right: None,
    "-": lambda left, right: None,
}

_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "**": operator.pow,
    "*": operator.mul,
    "+": operator.add,
    "%": operator.mod,
    "~": lambda left, right: f"{left}{right}",
    "//": operator.floordiv,
    "/": operator.truediv,
    "-": operator.sub,
}


# --- filters and methods, each bounded -----------------------------------------------------


def _range(*args: int) -> range:
    values = range(*args)
    if len(values) > MAX_RANGE:
        raise SecurityError(f"range is limited to {MAX_RANGE} items")
    return values


def _width(name: str, width: Any) -> None:
    if isinstance(width, int) and abs(width) > MAX_WIDTH:
        raise SecurityError(f"{name} is limited to a width of {MAX_WIDTH}")


def _join_size(items: list[Any], separator: str) -> None:
    total = sum(len(t) for t in _each_text(items)) + len(separator) * max(len(items) - 1, 0)
    if total > MAX_SIZE:
        raise SecurityError(f"join would make a text longer than {MAX_SIZE}")


def _materialised(value: Any) -> list[Any]:
    return list(_counted(value)) if not isinstance(value, str) else list(value)


def _bounded_join(eval_ctx: Any, value: Iterable[Any], d: str = "", attribute: Any = None) -> str:
    items = _materialised(value)
    if attribute is not None:
        getter = filters.make_attrgetter(eval_ctx.environment, attribute)
        items = [getter(i) for i in items]
    _join_size(items, _text(d))
    return filters.do_join(eval_ctx, items, d)  # type: ignore[no-any-return]


def _replace_size(value: str, old: str, new: str, count: int | None) -> None:
    times = value.count(old) if old else len(value) + 1
    if count is not None and count >= 0:
        times = min(times, count)
    if len(value) + times * (len(new) - len(old)) > MAX_SIZE:
        raise SecurityError(f"replace would make a text longer than {MAX_SIZE}")


def _bounded_replace(
    eval_ctx: Any, value: Any, old: Any, new: Any, count: int | None = None
) -> str:
    _replace_size(_text(value), _text(old), _text(new), count)
    return filters.do_replace(eval_ctx, value, old, new, count)


def _bounded_format(value: Any, *args: Any, **kwargs: Any) -> str:
    _check_modulo(_text(value), tuple(args) or tuple(kwargs.values()))
    return filters.do_format(value, *args, **kwargs)


def _bounded_indent(value: Any, width: Any = 4, *args: Any, **kwargs: Any) -> str:
    text = _text(value)
    size = len(width) if isinstance(width, str) else width
    _width("indent", size)
    if len(text) + (text.count("\n") + 1) * max(size, 0) > MAX_SIZE:
        raise SecurityError(f"indent would make a text longer than {MAX_SIZE}")
    return filters.do_indent(text, width, *args, **kwargs)


def _bounded_tojson(eval_ctx: Any, value: Any, indent: Any = None) -> Any:
    """Indented JSON repeats the indent on every line, at every depth: keep it small."""
    if indent is not None and not (
        isinstance(indent, int) and not isinstance(indent, bool) and 0 <= indent <= MAX_INDENT
    ):
        raise SecurityError(f"tojson's indent is a number up to {MAX_INDENT}")
    _spend(value)  # JSON is about as long as the value's weight
    return filters.do_tojson(eval_ctx, value, indent)


def _bounded_wordwrap(
    environment: Any,
    s: Any,
    width: int = 79,
    break_long_words: bool = True,
    wrapstring: str | None = None,
    break_on_hyphens: bool = True,
) -> str:
    """The separator goes between every two lines: at most one line per word, per
    `width` characters and per line already there."""
    text, separator = _text(s), _text(wrapstring) if wrapstring is not None else "\n"
    _width("wordwrap", width)
    if not isinstance(width, int) or width < 1:
        raise SecurityError("wordwrap's width is a number from 1")
    _charge(0, WRAP_WORK * len(text))  # textwrap works in Python, chunk by chunk
    breaks = sum(text.count(c) for c in " \t\n-") + len(text) // width + 1
    if len(text) + min(breaks, len(text) + 1) * len(separator) > MAX_SIZE:
        raise SecurityError(f"wordwrap would make a text longer than {MAX_SIZE}")
    return filters.do_wordwrap(
        environment, text, width, break_long_words, wrapstring, break_on_hyphens
    )


def _bounded_batch(value: Any, linecount: Any, fill_with: Any = None) -> Iterator[Any]:
    """The last batch is filled up to `linecount` items: keep it to a list's size."""
    if not isinstance(linecount, int) or not 0 < linecount <= MAX_ITEMS:
        raise SecurityError(f"batch takes a size from 1 to {MAX_ITEMS}")
    return filters.do_batch(value, linecount, fill_with)


def _bounded_sum(environment: Any, iterable: Any, attribute: Any = None, start: Any = 0) -> Any:
    """A sum of numbers (adding lists one by one copies each time: refused)."""
    if not isinstance(start, int | float | Decimal):
        raise SecurityError("sum adds numbers; to put lists together use +")
    return filters.sync_do_sum(environment, iterable, attribute, start)


def _bounded_title(value: Any) -> str:
    text = _text(value)
    _charge(0, TITLE_WORK * len(text))  # a regex split, then Python per word
    return filters.do_title(text)


def _width_capped(name: str, position: int) -> Callable[..., Any]:
    original = filters.FILTERS[name]

    def capped(*args: Any, **kwargs: Any) -> Any:
        for width in [*args[position:], *kwargs.values()]:
            _width(name, width)
        return original(*args, **kwargs)

    capped.jinja_pass_arg = getattr(original, "jinja_pass_arg", None)  # type: ignore[attr-defined]
    return capped


_bounded_join.jinja_pass_arg = filters.do_join.jinja_pass_arg  # type: ignore[attr-defined]
_bounded_replace.jinja_pass_arg = filters.do_replace.jinja_pass_arg  # type: ignore[attr-defined]
_bounded_tojson.jinja_pass_arg = filters.do_tojson.jinja_pass_arg  # type: ignore[attr-defined]
_bounded_wordwrap.jinja_pass_arg = filters.do_wordwrap.jinja_pass_arg  # type: ignore[attr-defined]
_bounded_sum.jinja_pass_arg = filters.sync_do_sum.jinja_pass_arg  # type: ignore[attr-defined]

# Linear in what they are given, and no bigger than it (or checked above).
_PLAIN_FILTERS = [
    "abs",
    "attr",
    "capitalize",
    "count",
    "d",
    "default",
    "dictsort",
    "e",
    "escape",
    "first",
    "float",
    "groupby",
    "int",
    "items",
    "last",
    "length",
    "list",
    "lower",
    "map",
    "max",
    "min",
    "reject",
    "rejectattr",
    "reverse",
    "round",
    "safe",
    "select",
    "selectattr",
    "slice",
    "sort",
    "string",
    "trim",
    "unique",
    "upper",
    "urlencode",
    "wordcount",
]
_BOUNDED_FILTERS: dict[str, Callable[..., Any]] = {
    "join": _bounded_join,
    "replace": _bounded_replace,
    "format": _bounded_format,
    "indent": _bounded_indent,
    "center": _width_capped("center", 1),
    "truncate": _width_capped("truncate", 2),
    "wordwrap": _bounded_wordwrap,
    "tojson": _bounded_tojson,
    "batch": _bounded_batch,
    "sum": _bounded_sum,
    "title": _bounded_title,
}
FILTERS = frozenset(_PLAIN_FILTERS) | frozenset(_BOUNDED_FILTERS)
TESTS = frozenset(
    [
        "boolean",
        "defined",
        "divisibleby",
        "eq",
        "equalto",
        "escaped",
        "even",
        "false",
        "float",
        "ge",
        "greaterthan",
        "gt",
        "in",
        "integer",
        "iterable",
        "le",
        "lessthan",
        "lower",
        "lt",
        "mapping",
        "ne",
        "none",
        "number",
        "odd",
        "sameas",
        "sequence",
        "string",
        "true",
        "undefined",
        "upper",
    ]
)


_TESTS: dict[str, Callable[..., Any]] = {name: tests.TESTS[name] for name in TESTS}  # type: ignore[misc]


def _str_replace(value: str, old: str, new: str, count: int = -1) -> str:
    _replace_size(value, old, new, count)
    return value.replace(old, new, count)


def _padded(name: str) -> Callable[..., str]:
    def pad(value: str, width: int, *args: Any) -> str:
        _width(name, width)
        return getattr(str, name)(value, width, *args)  # type: ignore[no-any-return]

    return pad


def _str_join(separator: str, items: Iterable[Any]) -> str:
    listed = _materialised(items)
    _join_size(listed, separator)
    return separator.join(listed)


# Methods a template may call (an expression calls nothing), by the type they belong to.
_STR_METHODS: dict[str, Callable[..., Any] | None] = {
    **dict.fromkeys(
        [
            "upper",
            "lower",
            "title",
            "capitalize",
            "casefold",
            "strip",
            "lstrip",
            "rstrip",
            "startswith",
            "endswith",
            "isdigit",
            "isalpha",
            "isalnum",
            "isspace",
            "islower",
            "isupper",
            "isdecimal",
            "count",
            "find",
            "rfind",
            "split",
            "rsplit",
            "splitlines",
            "partition",
            "rpartition",
            "removeprefix",
            "removesuffix",
        ]
    ),
    "replace": _str_replace,
    "zfill": _padded("zfill"),
    "center": _padded("center"),
    "ljust": _padded("ljust"),
    "rjust": _padded("rjust"),
    "join": _str_join,
}
_MAPPING_METHODS: dict[str, Callable[..., Any] | None] = dict.fromkeys(
    ("get", "items", "keys", "values")
)
METHODS = frozenset(_STR_METHODS) | frozenset(_MAPPING_METHODS)


class BoundedSandbox(SandboxedEnvironment):
    intercepted_binops = frozenset(_CHECKS)

    def __init__(self, **options: Any) -> None:
        # not optimized: the optimizer would run filters on constants while compiling,
        # outside any budget
        super().__init__(undefined=StrictUndefined, finalize=_output, optimized=False, **options)
        self.globals = {"range": _range}
        self.filters = {
            **{name: _stepped(filters.FILTERS[name]) for name in _PLAIN_FILTERS},
            **{name: _stepped(f) for name, f in _BOUNDED_FILTERS.items()},
            "_each": _each,  # added to every loop by _Bounded: a step per iteration
            "_concat": _concat,  # and to every `~`
            "_included": _included,  # and before every include, import and extends
        }
        self.tests = {name: _weighed_test(test) for name, test in _TESTS.items()}
        self.filters["_weighed"] = _weighed
        self.filters["_static"] = _static

    def _generate(self, source: nodes.Template, *args: Any, **kwargs: Any) -> str:
        """Every template and expression is compiled from a bounded tree (`_Bounded`)."""
        return super()._generate(_Bounded(self).visit(source), *args, **kwargs)

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        _charge(1)
        _spend(left, right)
        _CHECKS[operator_name](left, right)
        return _checked(_OPERATORS[operator_name](left, right))

    def getattr(self, obj: Any, attribute: str) -> Any:
        _charge()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _charge()
        _spend(argument)  # a key is hashed: a nested tuple, whole
        return super().getitem(obj, argument)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """Only macros, `range`, a loop's `cycle` and the allowlisted methods, bounded."""
        _charge(1)
        owner = getattr(__obj, "__self__", None)
        name = getattr(__obj, "__name__", "")
        given = [v for k, v in kwargs.items() if k not in ("_loop_vars", "_block_vars")]
        _spend(*args, *given, owner if isinstance(owner, str) else None)
        if isinstance(__obj, Macro | LoopContext):  # a macro, or a recursive loop(...)
            with _deeper():
                return _checked(__context.call(__obj, *args, **kwargs))
        for passed in ("_loop_vars", "_block_vars"):  # what Jinja adds to a call in a loop
            kwargs.pop(passed, None)  # or a block, for macros (Context.call drops them too)
        if __obj is _range:
            return _checked(__context.call(__obj, *args, **kwargs))
        if isinstance(owner, LoopContext) and name in ("cycle", "changed"):
            return _checked(__context.call(__obj, *args, **kwargs))
        if isinstance(owner, str) and name in _STR_METHODS:
            bounded = _STR_METHODS[name]
            if bounded is not None:
                return _checked(bounded(owner, *args, **kwargs))
            return _checked(__obj(*args, **kwargs))
        if isinstance(owner, Mapping) and name in _MAPPING_METHODS:
            return _checked(__obj(*args, **kwargs))
        raise SecurityError(f"calling {name or type(__obj).__name__!r} is not allowed here")


class _Bounded(NodeTransformer):
    """Every `{% for %}` iterates through `_each` (a step per item, and the text its body
    outputs as work); every `~` chain goes through `_concat` (its size checked before
    it is made); every `{% include %}`, `{% import %}` and `{% extends %}` is a step and
    the included template's text is work (a template that includes another twice, which
    includes another twice... would otherwise output 2**25 copies of a line at no cost);
    what a comparison compares and a dict's keys (hashed) are weighed first (`_weighed`);
    and every output's static text is work when it is output (`_static`), an included
    template's and a macro's too."""

    def __init__(self, environment: Any) -> None:
        self.environment = environment

    def _charged(self, node: nodes.Node) -> list[nodes.Node]:
        template = getattr(node, "template", None)
        size = 0
        if isinstance(template, nodes.Const) and isinstance(template.value, str):
            size = self._size_of(template.value)
        charge = nodes.Output(
            [nodes.Filter(nodes.Const(""), "_included", [nodes.Const(size)], [], None, None)],
            lineno=node.lineno,
        )
        return [charge, node]

    def _size_of(self, name: str) -> int:
        loader = getattr(self.environment, "loader", None)
        try:
            return len(loader.get_source(self.environment, name)[0]) if loader else 0
        except Exception:  # not found: the include itself says so
            return 0

    def visit_Include(self, node: nodes.Include) -> list[nodes.Node]:
        return self._charged(node)

    def visit_Import(self, node: nodes.Import) -> list[nodes.Node]:
        return self._charged(node)

    def visit_FromImport(self, node: nodes.FromImport) -> list[nodes.Node]:
        return self._charged(node)

    def visit_For(self, node: nodes.For) -> nodes.Node:
        loop = self.generic_visit(node)
        assert isinstance(loop, nodes.For)
        loop.iter = nodes.Filter(loop.iter, "_each", [], [], None, None, lineno=loop.lineno)
        return loop

    def visit_Output(self, node: nodes.Output) -> nodes.Node:
        output = self.generic_visit(node)
        assert isinstance(output, nodes.Output)
        static = sum(len(d.data) for d in output.nodes if isinstance(d, nodes.TemplateData))
        if static:
            charge = nodes.Filter(
                nodes.Const(static), "_static", [], [], None, None, lineno=output.lineno
            )
            output.nodes = [charge, *output.nodes]
        return output

    def visit_Compare(self, node: nodes.Compare) -> nodes.Node:
        compare = self.generic_visit(node)
        assert isinstance(compare, nodes.Compare)
        compare.expr = _weighing(compare.expr)
        for operand in compare.ops:
            operand.expr = _weighing(operand.expr)
        return compare

    def visit_Dict(self, node: nodes.Dict) -> nodes.Node:
        mapping = self.generic_visit(node)
        assert isinstance(mapping, nodes.Dict)
        for pair in mapping.items:
            pair.key = _weighing(pair.key)
        return mapping

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        concat = self.generic_visit(node)
        assert isinstance(concat, nodes.Concat)
        return nodes.Filter(
            nodes.List(concat.nodes, lineno=concat.lineno),
            "_concat",
            [],
            [],
            None,
            None,
            lineno=concat.lineno,
        )


def _weighing(node: nodes.Expr) -> nodes.Expr:
    return nodes.Filter(node, "_weighed", [], [], None, None, lineno=node.lineno)


def _weighed(value: T) -> T:
    """A step that weighs what is about to be compared or hashed."""
    _charge(1)
    _spend(value)
    return value


@pass_context
def _static(context: Any, size: int) -> str:
    """Charge an output's static text (nothing is printed)."""
    _charge(0, max(size, 0) if isinstance(size, int) else 0)
    return ""


def _concat(values: list[Any]) -> str:
    _charge(1)
    texts = _each_text(values)
    _charge(0, sum(len(t) for t in texts))
    return _checked("".join(texts))


@pass_context  # never folded into a constant when the template is compiled
def _included(context: Any, value: str, size: int) -> str:
    _charge(1, size)
    return value


def _weighed_test(test: Callable[..., Any]) -> Callable[..., Any]:
    """A test as a step, what it looks at weighed first (`x is in y` reads all of y)."""

    def test_(*args: Any, **kwargs: Any) -> Any:
        _charge(1)
        _spend(*_data(args), *kwargs.values())
        return test(*args, **kwargs)

    test_.jinja_pass_arg = getattr(test, "jinja_pass_arg", None)  # type: ignore[attr-defined]
    return test_


def _stepped(function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter as a step: its input weighed as work before it runs, its output checked
    against the caps; a lazy result (map, select...) counted item by item."""

    def filter_(*args: Any, **kwargs: Any) -> Any:
        _charge(1)
        budget = _budget.get()
        if budget is not None and budget.legacy and any(isinstance(a, Context) for a in args):
            raise TypeError("object of type 'Context' has no len()")  # as it was (Budget)
        _spend(*_data(args), *kwargs.values())
        result = function(*args, **kwargs)
        if isinstance(result, Iterator):
            return _counted(result)
        return _checked(result)

    filter_.jinja_pass_arg = getattr(function, "jinja_pass_arg", None)  # type: ignore[attr-defined]
    filter_.__name__ = getattr(function, "__name__", "filter")
    return filter_


def _each(items: Any) -> Iterator[Any]:
    return _counted(items)


def _output(value: Any) -> Any:
    """Everything a template outputs passes here: weighed before it is printed."""
    if value is not None:
        _spend(value)
    return value


def render_within(work: Callable[[], T], seconds: float = RENDER_SECONDS) -> T:
    """Run `work` (a render) in a thread, on a budget; past `seconds`, stop it and raise
    RenderTimeout. The budget bounds every render; this is the second line, for the
    activity (a Python thread cannot be killed, so the render is interrupted with an
    asynchronous exception, which lands at its next bytecode)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            with budgeted():
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


def unknown_names(ast: nodes.Node) -> list[tuple[str, int]]:
    """Filters, tests and methods the allowlists do not hold, with their lines: what
    `journey validate` refuses, for every account alike."""
    found: list[tuple[str, int]] = []
    for node in ast.find_all(nodes.Filter):
        if node.name not in FILTERS:  # (the sandbox's own, `_each`..., are added later)
            found.append((f"filter {node.name!r}", node.lineno))
    for test in ast.find_all(nodes.Test):
        if test.name not in TESTS:
            found.append((f"test {test.name!r}", test.lineno))
    for call in ast.find_all(nodes.Call):
        if isinstance(call.node, nodes.Getattr) and call.node.attr not in METHODS | {
            "cycle",
            "changed",
        }:
            found.append((f"method {call.node.attr!r}", call.lineno))
    return found


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
