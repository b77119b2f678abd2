"""Load journey files into validated definitions, reporting every problem at once.

`load_journey(path)` returns a `LoadedJourney` or raises `DefinitionError`
whose problems read `FILE:LINE: field.path: message`. Templates are read
from `templates/` beside the definition file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path as FsPath
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from rapport.language.advice import advise
from rapport.language.checks import check_definition, check_templates, too_many_steps
from rapport.language.models import JourneyDefinition
from rapport.language.problems import DefinitionError, Path, Problem, Severity, format_path
from rapport.language.salvage import salvage_definition
from rapport.language.templates import SUFFIX, TemplateBundle, TemplateProblem, split_file_name
from rapport.language.wording import describe
from rapport.language.yaml_source import SourceDocument, load_yaml, read_text

M = TypeVar("M", bound=BaseModel)

DEFINITION_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class LoadedJourney:
    path: FsPath
    definition: JourneyDefinition
    templates: TemplateBundle
    warnings: tuple[Problem, ...] = ()
    id_line: int = 1  # where `id:` is written, for problems about the journey as a whole


def templates_dir(definition_path: FsPath) -> FsPath:
    return definition_path.parent / "templates"


def load_journey(path: FsPath) -> LoadedJourney:
    """The journey in `path`, checked whole: every problem of the file in one
    DefinitionError (warnings with them), or the journey and its warnings."""
    return check_document(load_yaml(path, lenient=True), path)


def check_document(document: SourceDocument, path: FsPath) -> LoadedJourney:
    """The journey read from `document` (the YAML of `path`), checked whole."""
    problems = list(document.problems)
    definition = _read_definition(document, problems)
    if definition is None:
        raise DefinitionError(problems)
    bundle = read_templates(templates_dir(path))
    problems += _unreadable_templates(templates_dir(path), definition, bundle)
    try:
        problems += _checked(document, path, definition, bundle)
    except Exception:  # what the schema left of a broken file may defeat a later check
        if not problems:
            raise
    if any(not p.is_warning for p in problems):
        raise DefinitionError(problems)
    return LoadedJourney(
        path,
        definition,
        bundle.restricted_to(_reachable(definition, bundle)),
        tuple(sorted(problems)),
        document.lines.line_of(("id",)),
    )


def _checked(
    document: SourceDocument,
    path: FsPath,
    definition: JourneyDefinition,
    bundle: TemplateBundle,
) -> list[Problem]:
    """Every check beyond the schema, and the warnings."""
    too_many = too_many_steps(definition)
    if too_many is not None:  # the other checks would take too long to be worth it
        return [_at(document, *too_many)]
    problems = [_at(document, p, m) for p, m in check_definition(definition)]
    for finding in check_templates(definition, bundle):
        problems.append(
            _template_problem(document, path, finding.path, finding.problem, finding.severity)
        )
    problems += [_at(document, p, m, "warning") for p, m in advise(definition)]
    return problems


def _read_definition(document: SourceDocument, problems: list[Problem]) -> JourneyDefinition | None:
    """The definition; when the schema refuses parts of it, its errors go to `problems`
    and what is valid is kept (`salvage`) so that every other check still runs."""
    try:
        return JourneyDefinition.model_validate(document.data)
    except ValidationError as exc:
        problems += _schema_problems(JourneyDefinition, document, exc)
    return salvage_definition(document.data)


def validate_model(model: type[M], document: SourceDocument) -> M:
    """Validate `document.data` against a pydantic model; errors carry lines."""
    try:
        return model.model_validate(document.data)
    except ValidationError as exc:
        raise DefinitionError(_schema_problems(model, document, exc)) from None


def _schema_problems(
    model: type[BaseModel], document: SourceDocument, exc: ValidationError
) -> list[Problem]:
    problems = []
    for error in exc.errors():
        path, message = describe(error, model, document.data)
        problems.append(_at(document, path, message))
    return problems


def read_templates(folder: FsPath) -> TemplateBundle:
    if not folder.is_dir():
        return TemplateBundle({})
    sources = {}
    for file in sorted(folder.glob(f"*{SUFFIX}")):
        try:
            sources[file.name] = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # reported by _unreadable_templates when a journey uses it
    return TemplateBundle(sources)


def _unreadable_templates(
    folder: FsPath, definition: JourneyDefinition, bundle: TemplateBundle
) -> list[Problem]:
    """The journey's templates (in any language) that could not be read: a Spanish
    version saved as Latin-1 was left out, and Spanish customers got the default one."""
    names = {
        name
        for _, message in definition.messages()
        for name in [message.template, *message.variants.values()]
    }
    problems: list[Problem] = []
    for file in sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []:
        parts = split_file_name(file.name)
        if file.name in bundle.sources or parts is None or parts[0] not in names:
            continue
        try:
            read_text(file)
        except DefinitionError as exc:
            problems += exc.problems
    return problems


def find_definitions(paths: list[FsPath]) -> list[FsPath]:
    found: list[FsPath] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.suffix in DEFINITION_SUFFIXES))
        else:
            found.append(path)
    return found


def load_all(paths: list[FsPath]) -> tuple[list[LoadedJourney], list[Problem]]:
    """Every journey under `paths`, and every problem (and warning) in any of them.

    Two files may hold the same journey id at different versions (the highest is the
    one new journeys start: `current_versions`); the same id and version twice is an
    error at the second file's `id:` line."""
    journeys: list[LoadedJourney] = []
    problems: list[Problem] = []
    for path in find_definitions(paths):
        if not path.exists():
            problems.append(Problem(str(path), 1, "(file)", "no such file or folder"))
            continue
        try:
            journey = load_journey(path)
        except DefinitionError as exc:
            problems.extend(exc.problems)
            continue
        journeys.append(journey)
        problems.extend(journey.warnings)
    seen: dict[tuple[str, int], LoadedJourney] = {}
    for journey in journeys:
        key = (journey.definition.id, journey.definition.version)
        other = seen.setdefault(key, journey)
        if other is not journey:
            problems.append(
                Problem(
                    str(journey.path),
                    journey.id_line,
                    "id",
                    f"journey {key[0]!r} version {key[1]} is also defined in "
                    f"{other.path}:{other.id_line}: give one of them a higher version "
                    "(new journeys start the highest) or another id",
                )
            )
    return journeys, problems


def current_versions(journeys: list[LoadedJourney]) -> dict[str, LoadedJourney]:
    """The journey new accounts start, by id: of several versions, the highest."""
    current: dict[str, LoadedJourney] = {}
    for journey in journeys:
        other = current.get(journey.definition.id)
        if other is None or journey.definition.version > other.definition.version:
            current[journey.definition.id] = journey
    return current


def _reachable(definition: JourneyDefinition, bundle: TemplateBundle) -> set[str]:
    """The template files the journey's messages can use, in every language."""
    names: set[str] = set()
    for _, message in definition.messages():
        for channel in message.channels():
            for name in [message.template, *message.variants.values()]:
                names.update(bundle.with_languages(name, channel))
    return names


def _at(
    document: SourceDocument, path: Path, message: str, severity: Severity = "error"
) -> Problem:
    return Problem(
        document.file, document.lines.line_of(path), format_path(path), message, severity
    )


def _template_problem(
    document: SourceDocument,
    definition_path: FsPath,
    path: Path,
    problem: TemplateProblem | str,
    severity: Severity = "error",
) -> Problem:
    if isinstance(problem, str):
        return _at(document, path, problem, severity)
    file = str(templates_dir(definition_path) / problem.file)
    return Problem(file, problem.line, format_path(path), problem.message, severity)
