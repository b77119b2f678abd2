"""The migrations build exactly the tables the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from rapport.store import tables
from rapport.store.database import Store
from rapport.store.schema import metadata


def test_migrations_match_the_tables_the_code_declares(store: Store) -> None:
    assert tables.__all__  # every table group is imported into the metadata
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert [d for d in differences if not (isinstance(d, tuple) and d[0] == "remove_table"
                                           and d[1].name == "alembic_version")] == []
