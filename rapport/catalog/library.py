"""The journeys folder: every definition validated once per content, and the entry rules.

Reading the files is cheap; validating them is not (about 90 ms for the shipped
three). A file is validated again only when its bytes or its templates' bytes
change, and a broken file fails only the journeys that need it.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from rapport.catalog.pinned import PinnedJourney
from rapport.compliance.fit import located
from rapport.compliance.table import RULES_FOLDER, RuleBook, load_rulebook
from rapport.contract.records import JourneyPin
from rapport.language.account import Account
from rapport.language.loader import find_definitions, load_journey, templates_dir
from rapport.language.problems import DefinitionError, Problem
from rapport.language.selection import choose_journey, country_of, serves
from rapport.language.templates import SUFFIX


class Chooser(Protocol):
    """Where a journey is chosen: a `Library`, or a benchmark's own journey."""

    def choose(self, journey_id: str | None, account: Account) -> PinnedJourney: ...


class JourneyNotFound(LookupError):
    """No valid journey fits the request; the message says why, for the operator.
    `refusal` says it without the account's data (its id, its country): what a journey
    started for it fails with, readable without the codec (journey ids are no one's data)."""

    def __init__(self, message: str, refusal: str | None = None) -> None:
        super().__init__(message)
        self.refusal = refusal or message


@dataclass(frozen=True)
class Scan:
    journeys: list[PinnedJourney]
    problems: list[Problem]


class Library:
    def __init__(self, paths: list[Path], rules: RuleBook | None = None) -> None:
        """`rules`: the rule packs journeys are checked against (default: `rules/` in the
        first folder of `paths`). A journey looser than a country-wide rule it reaches is
        invalid here as in `journey validate`; broken packs make every journey invalid."""
        self.paths = paths
        self._lock = threading.Lock()
        self._by_content: dict[str, PinnedJourney | list[Problem]] = {}
        self._rules_problems: list[Problem] = []
        if rules is None:
            folders = [p for p in paths if p.is_dir()]
            try:
                rules = load_rulebook(folders[0] / RULES_FOLDER) if folders else RuleBook()
            except DefinitionError as exc:
                rules, self._rules_problems = RuleBook(), exc.problems
        self.rules = rules

    @property
    def rules_problems(self) -> list[Problem]:
        """Why the rule packs did not read (every journey is invalid meanwhile)."""
        return list(self._rules_problems)

    def scan(self) -> Scan:
        journeys: list[PinnedJourney] = []
        problems: list[Problem] = []
        for path in find_definitions(self.paths):
            result = self._load(path)
            if isinstance(result, list):
                problems.extend(result)
            else:
                journeys.append(result)
        return Scan(journeys, problems)

    def choose(
        self, journey_id: str | None, account: Account, scan: Scan | None = None
    ) -> PinnedJourney:
        """The named journey, or the one whose entry rule fits the account best (in `scan`,
        default: the folder as it is now)."""
        scan = scan or self.scan()
        shown = "; ".join(str(p) for p in scan.problems[:3])
        note = f" (invalid, see `journey validate`: {shown})" if shown else ""
        by_id: dict[str, PinnedJourney] = {}
        for journey in scan.journeys:  # of two versions of one journey, the highest starts
            other = by_id.get(journey.definition.id)
            if other is None or journey.definition.version > other.definition.version:
                by_id[journey.definition.id] = journey
        if journey_id is not None:
            if journey_id not in by_id:
                raise JourneyNotFound(
                    f"no journey has id {journey_id!r}; journeys: "
                    f"{', '.join(sorted(by_id)) or 'none'}{note}"
                )
            named = by_id[journey_id]
            if not serves(named.definition, account):
                countries = ", ".join(named.definition.reach())
                raise JourneyNotFound(
                    f"journey {journey_id!r} is for accounts in {countries}; account "
                    f"{account.account_id} is in {country_of(account)} (add it to the "
                    "journey's countries)",
                    f"journey {journey_id!r} is for accounts in {countries}, not in the "
                    "account's country (add it to the journey's countries)",
                )
            return named
        chosen = choose_journey([j.definition for j in by_id.values()], account)
        if chosen is None:
            raise JourneyNotFound(
                f"no journey's entry rule matches account "
                f"{account.account_id}; name a journey when starting it{note}",
                f"no journey's entry rule matches the account; name a journey when "
                f"starting it{note}",
            )
        return by_id[chosen.id]

    def _load(self, path: Path) -> PinnedJourney | list[Problem]:
        try:
            key = _content_key(path)
        except OSError as exc:
            return [Problem(str(path), 1, "(file)", f"cannot read file: {exc}")]
        with self._lock:
            cached = self._by_content.get(key)
        if cached is not None:
            return cached
        result: PinnedJourney | list[Problem]
        try:
            journey = load_journey(path)
        except DefinitionError as exc:
            result = exc.problems
        else:
            errors, _ = located(path, journey.definition, self.rules)
            problems = self._rules_problems + errors
            result = problems or PinnedJourney.loaded(journey)
        with self._lock:
            self._by_content[key] = result
        return result


def expected(folder: Path, journey_id: str | None, account: Account) -> JourneyPin | None:
    """The journey (and version) `folder` would pin for `account`, for a starter to name
    in the UI's summary; None when the folder is not here or has none that fits (the
    worker chooses, and says why)."""
    if not folder.is_dir():
        return None
    try:
        return Library([folder]).choose(journey_id, account).pin
    except JourneyNotFound:
        return None


def _content_key(path: Path) -> str:
    """The bytes a definition's validity depends on: the file and its templates folder."""
    digest = hashlib.sha256(str(path).encode() + b"\0" + path.read_bytes())
    folder = templates_dir(path)
    if folder.is_dir():
        for template in sorted(folder.glob(f"*{SUFFIX}")):
            digest.update(template.name.encode() + b"\0" + template.read_bytes() + b"\0")
    return digest.hexdigest()
