"""YAML loading that remembers the line of every key and list item.

PyYAML's composer gives every node its position; we walk the node tree once
to build plain Python data and a map from field path to line. Floats are
read as `Decimal` from their source text, so `25.00` stays exactly 25.00.
Duplicate keys, which YAML silently collapses, are reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path as FsPath
from typing import Any

import yaml

from rapport.language.problems import DefinitionError, Path, Problem, format_path

_FLOAT_TAG = "tag:yaml.org,2002:float"
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
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError([Problem(name, 1, "(file)", f"cannot read file: {exc}")]) from None
    return parse_yaml(text, name, lenient)


def parse_yaml(text: str, name: str, lenient: bool = False) -> SourceDocument:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise DefinitionError(
            [Problem(name, line, "(yaml)", f"{exc.problem or exc.context}")]
        ) from None
    except yaml.YAMLError as exc:
        raise DefinitionError([Problem(name, 1, "(yaml)", str(exc))]) from None
    builder = _Builder(name)
    data = builder.build(node, ()) if node is not None else None
    if builder.problems and not lenient:
        raise DefinitionError(builder.problems)
    return SourceDocument(name, data, builder.lines, builder.problems)


class _Builder:
    def __init__(self, name: str) -> None:
        self.name = name
        self.lines = LineMap({(): 1})
        self.problems: list[Problem] = []
        self._constructor = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: Path) -> Any:
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, child in enumerate(node.value):
                self.lines.lines[(*path, index)] = child.start_mark.line + 1
                items.append(self.build(child, (*path, index)))
            return items
        return self._scalar(node, path)

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
