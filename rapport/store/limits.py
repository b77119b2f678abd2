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
# expression language on every request cost more than the database's work. A window
# only moves forward: a process whose clock is behind another's (hosts are never exactly
# in step) counts its request in the newer window instead of starting its older one
# again; each such write reset the count, and two processes taking turns across the
# minute's boundary were never limited while their clocks disagreed.
COUNT = text(
    "INSERT INTO rate_counts (key, bucket, hits, expires) VALUES (:key, :bucket, :n, :expires) "
    "ON CONFLICT (key) DO UPDATE SET "
    "hits = CASE WHEN rate_counts.bucket >= excluded.bucket "
    "THEN rate_counts.hits + :n ELSE :n END, "
    "bucket = CASE WHEN rate_counts.bucket > excluded.bucket "
    "THEN rate_counts.bucket ELSE excluded.bucket END, "
    "expires = CASE WHEN rate_counts.expires > excluded.expires "
    "THEN rate_counts.expires ELSE excluded.expires END"
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
        counted = self._count([(key, 1) for key, _ in keys], seconds, now)
        return all(hits <= limit for hits, (_, limit) in zip(counted, keys, strict=True))

    def reserve(self, key: str, n: int, seconds: int, now: float) -> int:
        """Count `n` requests at once against `key` for the current window (a web
        process's reservation, `rapport.web.guard.Allowances`); the window's count after
        them."""
        return self._count([(key, n)], seconds, now)[0]

    def _count(self, keys: Sequence[tuple[str, int]], seconds: int, now: float) -> list[int]:
        bucket = int(now // seconds)
        expires = (bucket + 1) * seconds
        counted = []
        try:
            with self._one_writer, self.store.begin_volatile() as connection:
                for key, n in keys:
                    values = {"key": key, "bucket": bucket, "expires": expires, "n": n}
                    if self._returning:
                        hits = connection.execute(COUNT_RETURNING, values).scalar_one()
                    else:
                        connection.execute(COUNT, values)
                        hits = connection.execute(HITS, values).scalar_one()
                    counted.append(int(hits))
                if now - self._swept >= seconds:
                    self._swept = now
                    connection.execute(FORGET, {"now": int(now)})
        except SQLAlchemyError as exc:
            raise StoreUnavailable(f"rate not counted: {type(exc).__name__}") from None
        return counted

    def keys(self) -> int:
        """How many keys the table holds now (for tests and operators)."""
        with self.store.begin() as connection:
            return len(connection.execute(select(rate_counts.c.key)).all())
