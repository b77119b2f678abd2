"""Journey versions: every definition a journey was pinned to, by content hash.

A running journey keeps the definition it started with: the workflow holds only
its id, version and hash, and any worker finds the content here. A hash's
content never changes, so reading it is as deterministic as reading code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Connection, Integer, Row, String, Table, Text, select

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
    return None if row is None else _stored(row)


def load_versions(connection: Connection, journey_id: str) -> list[StoredVersion]:
    """Every version of one journey kept here, the earliest pinned first."""
    rows = connection.execute(
        select(journey_versions)
        .where(journey_versions.c.journey_id == journey_id)
        .order_by(journey_versions.c.version, journey_versions.c.pinned_at)
    )
    return [_stored(row) for row in rows]


def _stored(row: Row[Any]) -> StoredVersion:
    return StoredVersion(
        hash=row.hash,
        journey_id=row.journey_id,
        version=row.version,
        source=row.source,
        definition=row.definition,
        templates=json.loads(row.templates),
    )
