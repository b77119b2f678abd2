"""What the intake (the HTTP API and `journey import`) keeps in the store:

- `api_keys`: each billing system's key, by its public id, with a hash of its secret
  (the key itself is printed once, never kept), a name and when it was revoked;
- `idempotency_keys`: the first answer to each POST or PATCH by (API key, Idempotency-Key)
  for 24 hours, with a hash of the request it answered: a retry gets the same answer,
  another request under the same key is refused;
- `imported_accounts`: per account a file placed, the digest of what its row meant and
  whether its journey may still run (a second import of the same file starts nothing);
  `import_seen`: the accounts one import run has read, while it runs (so
  `--close-missing` finds the others without holding a file's accounts in memory).

Nothing here holds a name, an address or a phone number.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Integer,
    String,
    Table,
    Text,
    and_,
    bindparam,
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from rapport.store.database import Store, StoreUnavailable
from rapport.store.schema import Moment, metadata

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("secret_hash", String(64), nullable=False),  # SHA-256 of the key's secret part
    Column("per_minute", Integer, nullable=True),  # its rate limit (None: the setting's)
    Column("created_at", Moment, nullable=False),
    Column("revoked_at", Moment, nullable=True),
)
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(64), primary_key=True),  # SHA-256 of (API key id, the key)
    Column("request_hash", String(64), nullable=False),
    Column("status", Integer, nullable=True),  # None: the first request is still running
    Column("body", Text, nullable=True),
    Column("location", String(255), nullable=True),
    Column("created_at", Moment, nullable=False),
    Column("expires_at", Moment, nullable=False, index=True),
)
imported_accounts = Table(
    "imported_accounts",
    metadata,
    Column("account_id", String(64), primary_key=True),
    Column("digest", String(32), nullable=False),
    Column("open", Boolean, nullable=False),
    Column("updated_at", Moment, nullable=False),
)
import_seen = Table(
    "import_seen",
    metadata,
    Column("run", String(32), primary_key=True),
    Column("account_id", String(64), primary_key=True),
)


def _failed(what: str, exc: SQLAlchemyError) -> StoreUnavailable:
    return StoreUnavailable(f"{what}: {type(exc).__name__}")


# --- API keys ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    name: str
    secret_hash: str
    per_minute: int | None
    created_at: datetime
    revoked_at: datetime | None


class NameTaken(ValueError):
    pass


class ApiKeys:
    def __init__(self, store: Store) -> None:
        self.store = store

    def add(
        self, key_id: str, name: str, secret_hash: str, at: datetime, per_minute: int | None = None
    ) -> None:
        try:
            with self.store.begin() as connection:
                connection.execute(
                    insert(api_keys).values(
                        key_id=key_id,
                        name=name,
                        secret_hash=secret_hash,
                        per_minute=per_minute,
                        created_at=at,
                    )
                )
        except IntegrityError:
            raise NameTaken(self._taken(name)) from None
        except SQLAlchemyError as exc:
            raise _failed("API key not kept", exc) from None

    def _taken(self, name: str) -> str:
        """Why `name` cannot be given: a live key has it, or a revoked one keeps it (in
        `journey api-key list`: an operator replacing a leaked key was told it "exists
        already" though the list showed it revoked)."""
        try:
            with self.store.begin() as connection:
                revoked = connection.execute(
                    select(api_keys.c.revoked_at).where(api_keys.c.name == name)
                ).scalar()
        except SQLAlchemyError:
            revoked = None
        if revoked is None:
            return f"an API key named {name!r} exists already"
        return (
            f"an API key named {name!r} was revoked on {revoked:%Y-%m-%d %H:%M} UTC and keeps "
            f"its name (journey api-key list): choose another name, e.g. {name[:62]}-2"
        )

    def get(self, key_id: str) -> ApiKey | None:
        try:
            with self.store.begin() as connection:
                row = connection.execute(
                    select(api_keys).where(api_keys.c.key_id == key_id)
                ).first()
        except SQLAlchemyError as exc:
            raise _failed("API key not read", exc) from None
        return ApiKey(**row._mapping) if row else None

    def all(self) -> list[ApiKey]:
        try:
            with self.store.begin() as connection:
                rows = connection.execute(select(api_keys).order_by(api_keys.c.created_at)).all()
        except SQLAlchemyError as exc:
            raise _failed("API keys not read", exc) from None
        return [ApiKey(**row._mapping) for row in rows]

    def revoke(self, name_or_id: str, at: datetime) -> bool:
        """Revoke the key of that name or id; False when there is no such live key."""
        try:
            with self.store.begin() as connection:
                done = connection.execute(
                    update(api_keys)
                    .where(
                        (api_keys.c.name == name_or_id) | (api_keys.c.key_id == name_or_id),
                        api_keys.c.revoked_at.is_(None),
                    )
                    .values(revoked_at=at)
                )
        except SQLAlchemyError as exc:
            raise _failed("API key not revoked", exc) from None
        return bool(done.rowcount)


# --- idempotency keys -------------------------------------------------------------------


@dataclass(frozen=True)
class Remembered:
    """What the store holds for an idempotency key: the request it answered and, once
    that request finished, its answer (`status` None: still running)."""

    request_hash: str
    status: int | None
    body: str | None
    location: str | None


def scope_of(key_id: str, idempotency_key: str) -> str:
    return hashlib.sha256(f"{key_id}\x00{idempotency_key}".encode()).hexdigest()


SWEEP_EVERY = timedelta(minutes=1)  # how often a process forgets expired answers
SWEEP_BATCH = 5000  # at most this many at a time: a request never waits on a long delete
CLAIM_LEASE = timedelta(minutes=2)  # far longer than any request (each call waits 10 s)


def _claiming(dialect: str) -> Any:
    """One statement claims a key (written once, built once: building it per request cost
    more than the database's work): a new row, or an expired one replaced, or a claim of
    the same request that never got its answer taken over (its web process died
    mid-request: a deploy, the OOM killer; without this every retry was told "still
    running" for the key's 24 hours). A row returned: the key is ours."""
    upsert = (sqlite_insert if dialect == "sqlite" else postgresql_insert)(idempotency_keys)
    upsert = upsert.values(
        scope=bindparam("scope"),
        request_hash=bindparam("request_hash"),
        created_at=bindparam("now", type_=Moment()),
        expires_at=bindparam("expires", type_=Moment()),
    )
    row, new = idempotency_keys.c, upsert.excluded
    return upsert.on_conflict_do_update(
        index_elements=[row.scope],
        set_={
            "request_hash": new.request_hash,
            "status": None,
            "body": None,
            "location": None,
            "created_at": new.created_at,
            "expires_at": new.expires_at,
        },
        where=or_(
            row.expires_at < new.created_at,
            and_(
                row.status.is_(None),
                row.request_hash == new.request_hash,
                row.created_at <= bindparam("abandoned_before", type_=Moment()),
            ),
        ),
    ).returning(row.scope)  # (PostgreSQL's driver gives no rowcount for an upsert)


_REMEMBERED = select(idempotency_keys).where(idempotency_keys.c.scope == bindparam("scope"))
_ANSWER = (
    update(idempotency_keys)
    .where(idempotency_keys.c.scope == bindparam("key_scope"))
    .values(status=bindparam("status"), body=bindparam("body"), location=bindparam("location"))
)


class IdempotencyKeys:
    """Written without waiting for the disk (`Store.begin_volatile`): an operating-system
    crash may lose the last answers, never half of one; a retry then runs again, and
    every operation is idempotent by its own identity too (an account's one journey, a
    payment's id, a consent entry's reference). Answers older than their 24 hours are
    forgotten by the claims themselves, at most once every `SWEEP_EVERY` per process.
    A claim is one statement and an answer another (SQLite: queued on the process's one
    writer lock rather than SQLite's busy loop, which sleeps in steps of milliseconds)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._swept: datetime | None = None
        self._claim = _claiming(store.engine.dialect.name)
        self._one_writer = store.one_writer

    def claim(
        self, scope: str, request_hash: str, now: datetime, expires: datetime
    ) -> Remembered | None:
        """Claim the key for a request; None when it is ours to answer, else what the
        store remembers under it (an expired entry is replaced)."""
        values = {
            "scope": scope,
            "request_hash": request_hash,
            "now": now,
            "expires": expires,
            "abandoned_before": now - CLAIM_LEASE,
        }
        try:
            with self._one_writer, self.store.begin_volatile() as connection:
                if self._swept is None or now - self._swept >= SWEEP_EVERY:
                    self._swept = now  # expired answers, a bounded batch (expires_at's index)
                    expired = select(idempotency_keys.c.scope).where(
                        idempotency_keys.c.expires_at < now
                    )
                    connection.execute(
                        delete(idempotency_keys).where(
                            idempotency_keys.c.scope.in_(expired.limit(SWEEP_BATCH))
                        )
                    )
                if connection.execute(self._claim, values).first() is not None:
                    return None
                row = connection.execute(_REMEMBERED, {"scope": scope}).one()
        except SQLAlchemyError as exc:
            raise _failed("idempotency key not claimed", exc) from None
        return Remembered(row.request_hash, row.status, row.body, row.location)

    def answer(self, scope: str, status: int, body: str, location: str | None) -> None:
        try:
            with self._one_writer, self.store.begin_volatile() as connection:
                connection.execute(
                    _ANSWER,
                    {"key_scope": scope, "status": status, "body": body, "location": location},
                )
        except SQLAlchemyError as exc:
            raise _failed("answer not kept", exc) from None

    def release(self, scope: str) -> None:
        """Forget a claim whose request did not finish (our failure: a retry runs it)."""
        try:
            with self._one_writer, self.store.begin_volatile() as connection:
                connection.execute(
                    delete(idempotency_keys).where(idempotency_keys.c.scope == scope)
                )
        except SQLAlchemyError as exc:
            raise _failed("idempotency key not released", exc) from None

    def forget_expired(self, now: datetime) -> int:
        try:
            with self._one_writer, self.store.begin_volatile() as connection:
                done = connection.execute(
                    delete(idempotency_keys).where(idempotency_keys.c.expires_at < now)
                )
        except SQLAlchemyError as exc:
            raise _failed("expired idempotency keys not forgotten", exc) from None
        return int(done.rowcount or 0)


# --- imports ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Placed:
    """An account a file placed: what its row meant, and whether its journey may run."""

    digest: str
    open: bool


class ImportBook:
    """What earlier imports placed, and what the import running now has read."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def placed(self, account_ids: Sequence[str]) -> dict[str, Placed]:
        try:
            with self.store.begin() as connection:
                rows = connection.execute(
                    select(imported_accounts).where(imported_accounts.c.account_id.in_(account_ids))
                ).all()
        except SQLAlchemyError as exc:
            raise _failed("imports not read", exc) from None
        return {row.account_id: Placed(row.digest, row.open) for row in rows}

    def seen(self, run: str, account_ids: Sequence[str]) -> set[str]:
        """Note what this run read; those it had read before (a row repeated in the
        file)."""
        if not account_ids:
            return set()
        try:
            with self.store.begin() as connection:
                known = set(
                    connection.execute(
                        select(import_seen.c.account_id).where(
                            import_seen.c.run == run, import_seen.c.account_id.in_(account_ids)
                        )
                    ).scalars()
                )
                fresh = sorted(set(account_ids) - known)
                if fresh:
                    connection.execute(
                        insert(import_seen), [{"run": run, "account_id": a} for a in fresh]
                    )
        except SQLAlchemyError as exc:
            raise _failed("import progress not kept", exc) from None
        return known

    def place(self, rows: Sequence[tuple[str, str, bool]], at: datetime) -> None:
        """Keep (account id, digest, open) for accounts placed or changed."""
        if not rows:
            return
        try:
            with self.store.begin() as connection:
                ids = [account_id for account_id, _, _ in rows]
                connection.execute(
                    delete(imported_accounts).where(imported_accounts.c.account_id.in_(ids))
                )
                connection.execute(
                    insert(imported_accounts),
                    [
                        {"account_id": a, "digest": d, "open": o, "updated_at": at}
                        for a, d, o in rows
                    ],
                )
        except SQLAlchemyError as exc:
            raise _failed("imports not kept", exc) from None

    def missing(self, run: str, batch: int = 500) -> Iterator[list[str]]:
        """Accounts placed and open that this run did not read, a batch at a time."""
        after = ""
        while True:
            try:
                with self.store.begin() as connection:
                    found = list(
                        connection.execute(
                            select(imported_accounts.c.account_id)
                            .where(
                                imported_accounts.c.open.is_(True),
                                imported_accounts.c.account_id > after,
                                ~select(import_seen.c.account_id)
                                .where(
                                    and_(
                                        import_seen.c.run == run,
                                        import_seen.c.account_id == imported_accounts.c.account_id,
                                    )
                                )
                                .exists(),
                            )
                            .order_by(imported_accounts.c.account_id)
                            .limit(batch)
                        ).scalars()
                    )
            except SQLAlchemyError as exc:
                raise _failed("imports not read", exc) from None
            if not found:
                return
            yield found
            after = found[-1]

    def close(self, account_ids: Sequence[str], at: datetime) -> None:
        try:
            with self.store.begin() as connection:
                connection.execute(
                    update(imported_accounts)
                    .where(imported_accounts.c.account_id.in_(account_ids))
                    .values(open=False, updated_at=at)
                )
        except SQLAlchemyError as exc:
            raise _failed("imports not kept", exc) from None

    def finish(self, run: str) -> None:
        """Forget what this run read."""
        try:
            with self.store.begin() as connection:
                connection.execute(delete(import_seen).where(import_seen.c.run == run))
        except SQLAlchemyError as exc:
            raise _failed("import progress not forgotten", exc) from None
