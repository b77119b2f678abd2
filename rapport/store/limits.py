"""Rate-limit counters every web process shares: one row per key and window (a fixed
window: the count of the current one), forgotten once their window is over. Keys are
opaque (the web app keys them with its secret): no token or client address is kept.

Memory stays bounded in every process (nothing is kept there) and the table holds at
most the keys seen in the last window or two."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Column, Integer, String, Table, select, text
from sqlalchemy.exc import SQLAlchemyError

from rapport.store.database import Store, StoreUnavailable
from rapport.store.schema import metadata

rate_counts = Table(
    "rate_counts",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("bucket", Integer, nullable=False),  # unix seconds // the window's length
    Column("hits", Integer, nullable=False),
    Column("expires", Integer, nullable=False, index=True),  # unix seconds
)
# One statement on SQLite and PostgreSQL alike, written out once: building it with the
# expression language on every request cost more than the database's work.
COUNT = text(
    "INSERT INTO rate_counts (key, bucket, hits, expires) VALUES (:key, :bucket, 1, :expires) "
    "ON CONFLICT (key) DO UPDATE SET "
    "hits = CASE WHEN rate_counts.bucket = excluded.bucket THEN rate_counts.hits + 1 ELSE 1 END, "
    "bucket = excluded.bucket, expires = excluded.expires"
)
COUNT_RETURNING = text(f"{COUNT.text} RETURNING hits")  # SQLite 3.35+, PostgreSQL
HITS = text("SELECT hits FROM rate_counts WHERE key = :key")
FORGET = text("DELETE FROM rate_counts WHERE expires < :now")


class RateCounts:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._swept = 0.0
        self._one_writer = store.one_writer  # SQLite: this process's writers queue there
        self._returning = store.engine.dialect.insert_returning

    def hit(self, keys: Sequence[tuple[str, int]], seconds: int, now: float) -> bool:
        """Count one request against each (key, limit) for the current window of
        `seconds`; whether every key is still within its limit. One transaction, the
        increment atomic on SQLite and PostgreSQL alike (an upsert)."""
        bucket = int(now // seconds)
        expires = (bucket + 1) * seconds
        allowed = True
        try:
            with self._one_writer, self.store.begin_volatile() as connection:
                for key, limit in keys:
                    values = {"key": key, "bucket": bucket, "expires": expires}
                    if self._returning:
                        hits = connection.execute(COUNT_RETURNING, values).scalar_one()
                    else:
                        connection.execute(COUNT, values)
                        hits = connection.execute(HITS, values).scalar_one()
                    allowed = int(hits) <= limit and allowed
                if now - self._swept >= seconds:
                    self._swept = now
                    connection.execute(FORGET, {"now": int(now)})
        except SQLAlchemyError as exc:
            raise StoreUnavailable(f"rate not counted: {type(exc).__name__}") from None
        return allowed

    def keys(self) -> int:
        """How many keys the table holds now (for tests and operators)."""
        with self.store.begin() as connection:
            return len(connection.execute(select(rate_counts.c.key)).all())
