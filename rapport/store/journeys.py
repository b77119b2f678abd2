"""Journey versions: every definition a journey was pinned to, by content hash.

A running journey keeps the definition it started with: the workflow holds only
its id, version and hash, and any worker finds the content here. A hash's
content never changes, so reading it is as deterministic as reading code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Column, Connection, Integer, String, Table, Text, select

from rapport.store.schema import Moment, insert_once, metadata

journey_versions = Table(
    "journey_versions",
    metadata,
    Column("hash", String(64), primary_key=True),
    Column("journey_id", String(64), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("source", String(1024), nullable=False),
    Column("definition", Text, nullable=False),
    Column("templates", Text, nullable=False),
    Column("pinned_at", Moment, nullable=False),
)


@dataclass(frozen=True)
class StoredVersion:
    hash: str
    journey_id: str
    version: int
    source: str
    definition: str  # the definition as JSON
    templates: dict[str, str]


def save_version(connection: Connection, stored: StoredVersion) -> None:
    """Keep a version; saving one that is already there changes nothing."""
    insert_once(
        connection,
        journey_versions,
        {
            "hash": stored.hash,
            "journey_id": stored.journey_id,
            "version": stored.version,
            "source": stored.source,
            "definition": stored.definition,
            "templates": json.dumps(stored.templates, sort_keys=True),
            "pinned_at": datetime.now(UTC),
        },
        journey_versions.c.hash == stored.hash,
    )


def load_version(connection: Connection, content_hash: str) -> StoredVersion | None:
    row = connection.execute(
        select(journey_versions).where(journey_versions.c.hash == content_hash)
    ).first()
    if row is None:
        return None
    return StoredVersion(
        hash=row.hash,
        journey_id=row.journey_id,
        version=row.version,
        source=row.source,
        definition=row.definition,
        templates=json.loads(row.templates),
    )
