"""Where pinned versions are kept for every worker: the store, or memory."""

from __future__ import annotations

from typing import Protocol

from rapport.catalog.pinned import PinnedJourney
from rapport.language.models import JourneyDefinition
from rapport.language.templates import TemplateBundle
from rapport.store.database import Store
from rapport.store.journeys import StoredVersion, load_version, save_version


class Archive(Protocol):
    def save(self, journey: PinnedJourney) -> None: ...
    def load(self, content_hash: str) -> PinnedJourney | None: ...


class MemoryArchive:
    """For simulations and tests: one process, nothing to keep."""

    def __init__(self) -> None:
        self.versions: dict[str, PinnedJourney] = {}

    def save(self, journey: PinnedJourney) -> None:
        self.versions.setdefault(journey.pin.hash, journey)

    def load(self, content_hash: str) -> PinnedJourney | None:
        return self.versions.get(content_hash)


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
        if stored is None:
            return None
        definition = JourneyDefinition.model_validate_json(stored.definition)
        journey = PinnedJourney.of(definition, TemplateBundle(stored.templates), stored.source)
        if journey.pin.hash != content_hash:  # the content is what the hash says, or nothing
            return None
        return journey
