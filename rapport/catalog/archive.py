"""Where pinned versions are kept for every worker: the store, or memory."""

from __future__ import annotations

from typing import Protocol

from rapport.catalog.pinned import PinnedJourney
from rapport.language.models import JourneyDefinition
from rapport.language.templates import TemplateBundle
from rapport.store.database import Store
from rapport.store.journeys import StoredVersion, load_version, load_versions, save_version


class Archive(Protocol):
    def save(self, journey: PinnedJourney) -> None: ...
    def load(self, content_hash: str) -> PinnedJourney | None: ...
    def versions(self, journey_id: str) -> list[PinnedJourney]: ...


class MemoryArchive:
    """For simulations and tests: one process, nothing to keep."""

    def __init__(self) -> None:
        self.kept: dict[str, PinnedJourney] = {}

    def save(self, journey: PinnedJourney) -> None:
        self.kept.setdefault(journey.pin.hash, journey)

    def load(self, content_hash: str) -> PinnedJourney | None:
        return self.kept.get(content_hash)

    def versions(self, journey_id: str) -> list[PinnedJourney]:
        return [j for j in self.kept.values() if j.pin.id == journey_id]


class StoreArchive:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._saved: set[str] = set()

    def save(self, journey: PinnedJourney) -> None:
        if journey.pin.hash in self._saved:
            return
        with self.store.begin() as connection:
            save_version(
                connection,
                StoredVersion(
                    hash=journey.pin.hash,
                    journey_id=journey.pin.id,
                    version=journey.pin.version,
                    source=journey.source,
                    definition=journey.definition.model_dump_json(),
                    templates=dict(journey.templates.sources),
                ),
            )
        self._saved.add(journey.pin.hash)

    def load(self, content_hash: str) -> PinnedJourney | None:
        with self.store.begin() as connection:
            stored = load_version(connection, content_hash)
        return None if stored is None else _pinned(stored)

    def versions(self, journey_id: str) -> list[PinnedJourney]:
        with self.store.begin() as connection:
            stored = load_versions(connection, journey_id)
        return [j for j in map(_pinned, stored) if j is not None]


def _pinned(stored: StoredVersion) -> PinnedJourney | None:
    definition = JourneyDefinition.model_validate_json(stored.definition)
    journey = PinnedJourney.of(definition, TemplateBundle(stored.templates), stored.source)
    if journey.pin.hash != stored.hash:  # the content is what the hash says, or nothing
        return None
    return journey
