"""`insert_once` keeps a row once, inside its caller's transaction: when that
transaction rolls back, the row goes with it. On SQLite it did not: pysqlite begins a
transaction only before an INSERT, UPDATE or DELETE, so insert_once's SAVEPOINT, as a
transaction's first write, began one of its own and its RELEASE committed the row at once
(found by the stops review: a send's last look that found a stop kept the message's link
and counted it for the caps of the account's later journeys)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from rapport.store.database import Store
from rapport.store.deliveries import deliveries
from rapport.store.schema import insert_once


class Undone(Exception):
    pass


def count(store: Store) -> int:
    with store.begin() as connection:
        found: int = connection.execute(select(func.count()).select_from(deliveries)).scalar_one()
    return found


def row(key: str) -> dict[str, object]:
    return {"key": key, "account_id": "A-1", "channel": "sms", "at": datetime.now(UTC)}


def kept_then_undone(store: Store) -> None:
    with store.begin() as connection:
        assert insert_once(connection, deliveries, row("k1"), deliveries.c.key == "k1")
        raise Undone


def test_a_row_kept_once_goes_when_its_transaction_rolls_back(store: Store) -> None:
    with pytest.raises(Undone):
        kept_then_undone(store)
    assert count(store) == 0


def test_a_row_kept_once_is_kept_once(store: Store) -> None:
    for _ in range(2):
        with store.begin() as connection:
            insert_once(connection, deliveries, row("k1"), deliveries.c.key == "k1")
    with store.begin() as connection:
        assert not insert_once(connection, deliveries, row("k1"), deliveries.c.key == "k1")
        assert insert_once(connection, deliveries, row("k2"), deliveries.c.key == "k2")
    assert count(store) == 2
