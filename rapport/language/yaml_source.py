"""YAML loading that remembers the line of every key and list item.

PyYAML's composer gives every node its position; we walk the node tree once
to build plain Python data and a map from field path to line. Floats are
read as `Decimal` from their source text, so `25.00` stays exactly 25.00.
Duplicate keys, which YAML silently collapses, are reported.

A designer's file is untrusted input, read with bounded cost: at most `MAX_CHARACTERS`,
values nested at most `MAX_DEPTH` deep (checked on the event stream, before anything
recursive reads it), and at most `MAX_VALUES` values once anchors and aliases are
expanded (a "billion laughs" file is a few lines that expand to billions), never a value
that contains itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path as FsPath
from typing import Any

import yaml

from rapport.language.problems import DefinitionError, Path, Problem, format_path

_FLOAT_TAG = "tag:yaml.org,2002:float"
MAX_CHARACTERS = 1_000_000  # a journey is a few thousand; a rule pack or a scenario less
MAX_DEPTH = 40  # a journey nests 6 deep
MAX_VALUES = 250_000  # values once aliases are expanded: a 1 MB file of plain values
# libyaml when PyYAML has it (a 1 MB file in a second, not ten); its errors are told
# in the pure-Python parser's words, which name the character or alias at fault.
_FAST = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SEXAGESIMAL_TAGS = {"tag:yaml.org,2002:int", _FLOAT_TAG}


@dataclass
class LineMap:
    """Line numbers (1-based) by field path."""

    lines: dict[Path, int] = field(default_factory=dict)

    def line_of(self, path: Path) -> int:
        """The line of `path`, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return 1


@dataclass
class SourceDocument:
    file: str
    data: Any
    lines: LineMap
    problems: list[Problem] = field(default_factory=list)  # read past (lenient only)


def load_yaml(
    path: FsPath, display_name: str | None = None, lenient: bool = False
) -> SourceDocument:
    """Read one YAML document; raises DefinitionError for unreadable or malformed files.
    `lenient`: problems that still leave data to check (a duplicate key: the last one
    counts) are kept in `problems` instead of raised, so later checks run too."""
    name = display_name or str(path)
    text = read_text(path, name)
    return parse_yaml(text, name, lenient)


def read_text(path: FsPath, name: str | None = None) -> str:
    """A designer's file as text; DefinitionError naming the line of a byte that is not
    UTF-8 (a file saved as Latin-1 by an old editor), or why it cannot be read."""
    name = name or str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        said = exc.strerror or str(exc)
        raise DefinitionError([Problem(name, 1, "(file)", f"cannot read file: {said}")]) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        byte = data[exc.start]
        raise DefinitionError(
            [
                Problem(
                    name,
                    line,
                    "(file)",
                    f"is not UTF-8 text (byte 0x{byte:02x} on this line): save it as UTF-8",
                )
            ]
        ) from None


def parse_yaml(text: str, name: str, lenient: bool = False) -> SourceDocument:
    if len(text) > MAX_CHARACTERS:
        raise DefinitionError(
            [
                Problem(
                    name,
                    1,
                    "(file)",
                    f"the file is {len(text):,} characters: at most {MAX_CHARACTERS:,} "
                    "(a journey is a few thousand)",
                )
            ]
        )
    try:
        node = _compose(text, name)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise DefinitionError(
            [Problem(name, line, "(yaml)", f"{exc.problem or exc.context}")]
        ) from None
    except yaml.YAMLError as exc:
        raise DefinitionError([Problem(name, 1, "(yaml)", str(exc))]) from None
    builder = _Builder(name)
    try:
        data = builder.build(node, ()) if node is not None else None
    except _Unbounded as exc:
        raise DefinitionError([Problem(name, exc.line, "(yaml)", exc.message)]) from None
    if builder.problems and not lenient:
        raise DefinitionError(builder.problems)
    return SourceDocument(name, data, builder.lines, builder.problems)


def _compose(text: str, name: str) -> yaml.Node | None:
    """The node tree, never deeper than MAX_DEPTH; a syntax error in the words of PyYAML's
    own parser."""
    for loader in dict.fromkeys((_FAST, yaml.SafeLoader)):
        deep = _too_deep(text, loader)
        if deep is not None:
            raise DefinitionError(
                [
                    Problem(
                        name,
                        deep,
                        "(yaml)",
                        f"values nested more than {MAX_DEPTH} deep: a journey nests a few levels",
                    )
                ]
            )
        try:
            return yaml.compose(text, Loader=loader)
        except yaml.YAMLError:
            if loader is yaml.SafeLoader:
                raise
    return None  # not reached: the last loader raises


def _too_deep(text: str, loader: Any) -> int | None:
    """The line where collections first nest deeper than MAX_DEPTH, or None. Read from
    the event stream, which nothing recursive builds (PyYAML's composer recurses once per
    level, and a few thousand levels overflow Python's stack)."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=loader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    return mark.line + 1 if mark is not None else 1
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return None  # a syntax error: reported by the composer, in its words
    return None


class _Unbounded(Exception):
    """A file whose values, with its aliases expanded, are too many, too deep or endless."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line, self.message = line, message


class _Builder:
    def __init__(self, name: str) -> None:
        self.name = name
        self.lines = LineMap({(): 1})
        self.problems: list[Problem] = []
        self._constructor = yaml.SafeLoader("")
        self._values = 0
        self._open: set[int] = set()  # the collections being built: an alias to one loops

    def build(self, node: yaml.Node, path: Path) -> Any:
        self._values += 1
        line = node.start_mark.line + 1
        if self._values > MAX_VALUES:
            raise _Unbounded(
                line,
                f"more than {MAX_VALUES:,} values once its aliases (*name) are expanded: "
                "an alias repeats a whole anchored value (&name), so aliases of aliases "
                "multiply; write the values out, or fewer",
            )
        if len(path) > MAX_DEPTH:
            raise _Unbounded(
                line,
                f"values nested more than {MAX_DEPTH} deep once its aliases (*name) are "
                "expanded: a journey nests a few levels",
            )
        if not isinstance(node, yaml.CollectionNode):
            return self._scalar(node, path)
        if id(node) in self._open:
            raise _Unbounded(
                line, "an alias (*name) inside the value it names (&name): it would never end"
            )
        self._open.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
            items = []
            for index, child in enumerate(node.value):
                self.lines.lines[(*path, index)] = child.start_mark.line + 1
                items.append(self.build(child, (*path, index)))
            return items
        finally:
            self._open.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self._scalar(key_node, path)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str | int | bool) or key_node.tag == "tag:yaml.org,2002:merge":
                self._problem(line, path, f"unsupported key {key_node.value!r}")
                continue
            if key in result:
                self._problem(line, (*path, str(key)), "duplicate key")
            self.lines.lines[(*path, str(key))] = line
            result[key] = self.build(value_node, (*path, str(key)))
        return result

    def _scalar(self, node: yaml.Node, path: Path) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            self._problem(node.start_mark.line + 1, path, "a key must be plain text")
            return None
        if ":" in str(node.value) and node.tag in _SEXAGESIMAL_TAGS:
            return node.value  # YAML 1.1 reads 9:30 as 570; a designer means a clock time
        if node.tag == _FLOAT_TAG:
            try:
                number = Decimal(node.value.replace("_", ""))
            except InvalidOperation:
                return node.value
            return number if number.is_finite() else node.value
        try:
            return self._constructor.construct_object(node)
        except yaml.YAMLError as exc:  # e.g. a lone `=`, YAML's obscure "value" tag
            self._problem(node.start_mark.line + 1, path, f"cannot read {node.value!r}: {exc}")
            return None

    def _problem(self, line: int, path: Path, message: str) -> None:
        self.problems.append(Problem(self.name, line, format_path(path), message))
