"""The store on SQLite and PostgreSQL: migrations, journey versions, aware times."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from rapport.store.database import Store, StoreUnavailable
from rapport.store.journeys import StoredVersion, journey_versions, load_version, save_version


def test_migrations_reach_the_head(store: Store) -> None:
    assert store.revision() == store.head()
    assert store.upgrade() == store.head()  # a second upgrade changes nothing


def test_a_version_is_kept_once_and_read_back(store: Store) -> None:
    version = StoredVersion(
        "abc",
        "early-stage",
        3,
        "journeys/early_stage.yaml",
        '{"id": "early-stage"}',
        {"reminder.sms.j2": "Hi {{ opt_out }}"},
    )
    with store.begin() as connection:
        save_version(connection, version)
        save_version(connection, version)
    with store.begin() as connection:
        assert load_version(connection, "abc") == version
        assert load_version(connection, "nope") is None
        pinned = connection.execute(select(journey_versions.c.pinned_at)).scalar_one()
    assert isinstance(pinned, datetime)
    assert pinned.tzinfo is not None


@pytest.mark.postgres
def test_a_shared_database_behind_the_code_is_refused_with_the_command(
    postgres: object, tmp_path: object
) -> None:
    url = postgres.new_database("behind")  # type: ignore[attr-defined]
    with pytest.raises(StoreUnavailable, match="journey db upgrade"):
        Store(url).ready()
