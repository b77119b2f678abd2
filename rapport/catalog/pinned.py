"""A journey as pinned: the definition, its templates, and what each template reads."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from rapport.contract.records import JourneyPin
from rapport.language.loader import LoadedJourney
from rapport.language.models import JourneyDefinition
from rapport.language.templates import FieldPath, TemplateBundle

HASH_LENGTH = 20  # hex characters: 80 bits, far beyond any count of journey versions


def content_hash(definition: JourneyDefinition, templates: TemplateBundle) -> str:
    """The same definition and templates give the same hash, whatever the YAML's layout."""
    content = {
        "definition": definition.model_dump(mode="json"),
        "templates": dict(sorted(templates.sources.items())),
    }
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:HASH_LENGTH]


@dataclass(frozen=True)
class PinnedJourney:
    pin: JourneyPin
    definition: JourneyDefinition
    templates: TemplateBundle
    source: str
    fields: dict[str, frozenset[FieldPath] | None] = field(default_factory=dict)
    facts: frozenset[str] = frozenset()  # the template files that read `journey`

    @classmethod
    def of(
        cls, definition: JourneyDefinition, templates: TemplateBundle, source: str
    ) -> PinnedJourney:
        pin = JourneyPin(
            id=definition.id, version=definition.version, hash=content_hash(definition, templates)
        )
        fields = {file: templates.account_fields(file) for file in templates.sources}
        facts = frozenset(f for f in templates.sources if templates.reads(f, "journey"))
        return cls(pin, definition, templates, source, fields, facts)

    @classmethod
    def loaded(cls, journey: LoadedJourney) -> PinnedJourney:
        return cls.of(journey.definition, journey.templates, str(journey.path))

    def account_fields(self, file: str) -> frozenset[FieldPath] | None:
        return self.fields.get(file)

    def reads_facts(self, file: str) -> bool:
        """Whether `file` reads `journey` (the journey's facts): a send carries them then."""
        return file in self.facts
