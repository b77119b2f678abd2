"""The migrations build exactly the tables the code declares, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, event, inspect

from rapport.store import tables
from rapport.store.database import Store
from rapport.store.schema import metadata


def test_migrations_match_the_tables_the_code_declares(store: Store) -> None:
    assert tables.__all__  # every table group is imported into the metadata
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert [
        d
        for d in differences
        if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == "alembic_version")
    ] == []


def test_a_migration_cut_short_leaves_nothing_behind_and_runs_again(tmp_path: Path) -> None:
    """A worker killed while it migrates a SQLite file (as `make run` or a crash test
    may) must not leave tables without their revision: every later start would fail."""
    store = Store(f"sqlite:///{tmp_path / 'rapport.db'}")

    def cut(connection: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().startswith("CREATE TABLE deliveries"):  # the fourth migration
            raise RuntimeError("killed")

    event.listen(Engine, "before_cursor_execute", cut)
    try:
        with pytest.raises(RuntimeError, match="killed"):
            store.upgrade()
    finally:
        event.remove(Engine, "before_cursor_execute", cut)
    with store.engine.connect() as connection:
        left = inspect(connection).get_table_names()
    assert left == []
    assert store.revision() is None
    assert store.upgrade() == store.head()
    store.dispose()
