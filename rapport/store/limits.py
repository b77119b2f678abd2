"""Rate-limit counters every web process shares: one row per key and window (a fixed
window: the count of the current one), forgotten once their window is over. Keys are
opaque (the web app keys them with its secret): no token or client address is kept.

Memory stays bounded in every process (nothing is kept there) and the table holds at
most the keys seen in the last window or two."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Column, Connection, Integer, String, Table, case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from rapport.store.database import Store, StoreUnavailable
from rapport.store.schema import metadata

rate_counts = Table(
    "rate_counts",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("window", Integer, nullable=False),  # unix seconds // the window's length
    Column("hits", Integer, nullable=False),
    Column("expires", Integer, nullable=False, index=True),  # unix seconds
)


class RateCounts:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._swept = 0.0

    def hit(self, keys: Sequence[tuple[str, int]], seconds: int, now: float) -> bool:
        """Count one request against each (key, limit) for the current window of
        `seconds`; whether every key is still within its limit. One transaction, the
        increment atomic on SQLite and PostgreSQL alike (an upsert)."""
        window = int(now // seconds)
        expires = (window + 1) * seconds
        allowed = True
        try:
            with self.store.begin_volatile() as connection:
                for key, limit in keys:
                    allowed = _count(connection, key, window, expires) <= limit and allowed
                if now - self._swept >= seconds:
                    self._swept = now
                    connection.execute(delete(rate_counts).where(rate_counts.c.expires < now))
        except SQLAlchemyError as exc:
            raise StoreUnavailable(f"rate not counted: {type(exc).__name__}") from None
        return allowed

    def keys(self) -> int:
        """How many keys the table holds now (for tests and operators)."""
        with self.store.begin() as connection:
            return len(connection.execute(select(rate_counts.c.key)).all())


def _count(connection: Connection, key: str, window: int, expires: int) -> int:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(rate_counts).values(key=key, window=window, hits=1, expires=expires)
    same_window = rate_counts.c.window == insert.excluded.window
    connection.execute(
        insert.on_conflict_do_update(
            index_elements=[rate_counts.c.key],
            set_={
                "hits": case((same_window, rate_counts.c.hits + 1), else_=1),
                "window": insert.excluded.window,
                "expires": insert.excluded.expires,
            },
        )
    )
    hits = connection.execute(select(rate_counts.c.hits).where(rate_counts.c.key == key))
    return int(hits.scalar_one())
