"""Load journey files into validated definitions, reporting every problem at once.

`load_journey(path)` returns a `LoadedJourney` or raises `DefinitionError`
whose problems read `FILE:LINE: field.path: message`. Templates are read
from `templates/` beside the definition file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from rapport.language.checks import check_definition, check_templates
from rapport.language.models import JourneyDefinition
from rapport.language.problems import DefinitionError, Path, Problem, format_path
from rapport.language.templates import SUFFIX, TemplateBundle, TemplateProblem
from rapport.language.yaml_source import SourceDocument, load_yaml

M = TypeVar("M", bound=BaseModel)

DEFINITION_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class LoadedJourney:
    path: FsPath
    definition: JourneyDefinition
    templates: TemplateBundle


def templates_dir(definition_path: FsPath) -> FsPath:
    return definition_path.parent / "templates"


def load_journey(path: FsPath) -> LoadedJourney:
    document = load_yaml(path)
    definition = validate_model(JourneyDefinition, document)
    problems = [_at(document, p, m) for p, m in check_definition(definition)]
    bundle = read_templates(templates_dir(path))
    for finding in check_templates(definition, bundle):
        problems.append(_template_problem(document, path, finding.path, finding.problem))
    if problems:
        raise DefinitionError(problems)
    return LoadedJourney(path, definition, bundle.restricted_to(_reachable(definition)))


def validate_model(model: type[M], document: SourceDocument) -> M:
    """Validate `document.data` against a pydantic model; errors carry lines."""
    try:
        return model.model_validate(document.data)
    except ValidationError as exc:
        raise DefinitionError([_pydantic_problem(document, e) for e in exc.errors()]) from None


def read_templates(folder: FsPath) -> TemplateBundle:
    if not folder.is_dir():
        return TemplateBundle({})
    sources = {}
    for file in sorted(folder.glob(f"*{SUFFIX}")):
        try:
            sources[file.name] = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # reported as a template that cannot be used when it is needed
    return TemplateBundle(sources)


def find_definitions(paths: list[FsPath]) -> list[FsPath]:
    found: list[FsPath] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.suffix in DEFINITION_SUFFIXES))
        else:
            found.append(path)
    return found


def load_all(paths: list[FsPath]) -> tuple[list[LoadedJourney], list[Problem]]:
    """Every journey under `paths`, and every problem in any of them."""
    journeys: list[LoadedJourney] = []
    problems: list[Problem] = []
    for path in find_definitions(paths):
        if not path.exists():
            problems.append(Problem(str(path), 1, "(file)", "no such file or folder"))
            continue
        try:
            journeys.append(load_journey(path))
        except DefinitionError as exc:
            problems.extend(exc.problems)
    by_id: dict[str, LoadedJourney] = {}
    for journey in journeys:
        other = by_id.setdefault(journey.definition.id, journey)
        if other is not journey:
            problems.append(
                Problem(
                    str(journey.path),
                    1,
                    "id",
                    f"journey id {journey.definition.id!r} is also used by {other.path}",
                )
            )
    return journeys, problems


def _reachable(definition: JourneyDefinition) -> set[str]:
    names: set[str] = set()
    for _, message in definition.messages():
        for channel in message.channels():
            for name in [message.template, *message.variants.values()]:
                names.add(f"{name}.{channel}{SUFFIX}")
    return names


def _clean_loc(loc: tuple[Any, ...], data: Any) -> Path:
    """Drop the tags pydantic inserts for tagged unions (`steps.0.wait-step.wait`):
    a name that is not a key of the data at that point, and not the last part."""
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
        path.append(part)
    return tuple(path)


def _pydantic_problem(document: SourceDocument, error: Any) -> Problem:
    path = _clean_loc(error["loc"], document.data)
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = f"unknown key {path[-1]!r}"
    elif error["type"] == "missing":
        message = "required"
    elif error["type"] == "literal_error":
        message = f"{error['input']!r} is not allowed: {message.removeprefix('Input should be ')}"
    return _at(document, path, message)


def _at(document: SourceDocument, path: Path, message: str) -> Problem:
    return Problem(document.file, document.lines.line_of(path), format_path(path), message)


def _template_problem(
    document: SourceDocument,
    definition_path: FsPath,
    path: Path,
    problem: TemplateProblem | str,
) -> Problem:
    if isinstance(problem, str):
        return _at(document, path, problem)
    file = str(templates_dir(definition_path) / problem.file)
    return Problem(file, problem.line, format_path(path), problem.message)
