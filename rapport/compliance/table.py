"""The table of rule packs: every pack in `journeys/rules/`, read and checked once at
start, and which of them apply to an account.

`load_rulebook(folder)` reads every `*.yaml` there with the journey language's YAML
reader, so a mistake is reported as `FILE:LINE: field.path: message` like a journey's,
all at once (`DefinitionError`). A missing folder is an empty table: only the engine's
own floors then hold, and `journey validate` says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from rapport.compliance.packs import Rule, RulePack
from rapport.language.loader import DEFINITION_SUFFIXES, validate_model
from rapport.language.models import DEFAULT_COUNTRIES
from rapport.language.problems import DefinitionError, Problem, format_path
from rapport.language.problems import Path as FieldPath
from rapport.language.yaml_source import SourceDocument, load_yaml

RULES_FOLDER = "rules"  # beside the journeys: journeys/rules/


@dataclass(frozen=True)
class RuleBook:
    """The packs the engine knows, in file order (country-wide before regional)."""

    packs: tuple[RulePack, ...] = ()
    folder: Path | None = None

    def pack(self, pack_id: str) -> RulePack:
        return next(p for p in self.packs if p.pack == pack_id)

    def for_place(self, country: str | None, region: str | None = None) -> list[RulePack]:
        """The packs that apply where an account is: its country's country-wide packs and
        its region's packs. No country (an account without an address): the default's,
        the United States."""
        country = country or DEFAULT_COUNTRIES[0]
        return [
            p
            for p in self.packs
            if p.applies_to.country == country
            and (p.applies_to.region is None or p.applies_to.region == region)
        ]

    def for_countries(self, countries: tuple[str, ...]) -> list[RulePack]:
        """Every pack that can apply to an account of these countries (regional ones
        included)."""
        return [p for p in self.packs if p.applies_to.country in countries]

    def rules(self) -> Iterator[tuple[RulePack, Rule]]:
        for pack in self.packs:
            for rule in pack.rules:
                yield pack, rule


def load_rulebook(folder: Path) -> RuleBook:
    """Every pack in `folder`; DefinitionError with every problem in any of them."""
    if not folder.is_dir():
        return RuleBook((), None)
    packs: list[RulePack] = []
    problems: list[Problem] = []
    seen: dict[str, Path] = {}
    for path in sorted(p for p in folder.iterdir() if p.suffix in DEFINITION_SUFFIXES):
        try:
            document = load_yaml(path)
            pack = validate_model(RulePack, document)
        except DefinitionError as exc:
            problems.extend(exc.problems)
            continue
        found = list(_checks(pack, path, document))
        if pack.pack in seen:
            found.append(
                _at(document, ("pack",), f"pack {pack.pack!r} is also in {seen[pack.pack]}")
            )
        seen.setdefault(pack.pack, path)
        problems.extend(found)
        if not found:
            packs.append(pack)
    if problems:
        raise DefinitionError(problems)
    packs.sort(key=lambda p: (p.regional, p.pack))
    return RuleBook(tuple(packs), folder)


def _checks(pack: RulePack, path: Path, document: SourceDocument) -> Iterator[Problem]:
    if path.stem != pack.pack:
        yield _at(document, ("pack",), f"the pack in {path.name} must be named {path.stem!r}")
    ids: set[str] = set()
    for i, rule in enumerate(pack.rules):
        if rule.id in ids:
            yield _at(document, ("rules", i, "id"), f"rule id {rule.id!r} is used twice")
        ids.add(rule.id)
        if rule.window is not None and rule.window.start >= rule.window.end:
            yield _at(document, ("rules", i, "window"), "the window must open before it closes")
        for kind in ("cap", "cooldown"):
            limit = getattr(rule, kind)
            if limit is not None and limit.per <= timedelta():
                yield _at(document, ("rules", i, kind, "per"), "must be longer than 0")


def _at(document: SourceDocument, path: FieldPath, message: str) -> Problem:
    return Problem(document.file, document.lines.line_of(path), format_path(path), message)
