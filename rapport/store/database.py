"""The database behind the store: SQLite in `data/` by default, PostgreSQL in production.

`Store(url)` opens it; `upgrade()` applies the Alembic migrations (`journey db
upgrade`). SQLite runs in WAL mode with a busy timeout, so the worker, the web app
and the CLI can share one file.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.exc import IntegrityError, OperationalError

from rapport.contract import metrics
from rapport.contract.metrics import STORE_ERRORS
from rapport.store.schema import Sealer

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
DEFAULT_URL = "sqlite:///data/rapport.db"


class StoreUnavailable(Exception):
    """The database cannot be reached or answered with an error; try again later."""


CONNECT_TIMEOUT = 10  # seconds PostgreSQL's connection may take


def engine_for(url: str, migrating: bool = False) -> Engine:
    """An engine for `url`. `migrating` (SQLite): every transaction is a real one, begun
    with BEGIN IMMEDIATE, so a migration is all or nothing even when its process is
    killed halfway (pysqlite otherwise commits each CREATE TABLE at once) and two
    processes starting together migrate one after the other."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":  # psycopg 3 is the driver we ship
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() != "sqlite":
        # a server that does not answer is a StoreUnavailable within seconds, not a thread
        # held until the kernel gives up on the connection (the URL may say otherwise)
        waits = {} if "connect_timeout" in parsed.query else {"connect_timeout": CONNECT_TIMEOUT}
        engine = create_engine(
            parsed, pool_pre_ping=True, pool_size=5, max_overflow=10, connect_args=waits
        )
        event.listen(engine, "handle_error", _count_error)
        return engine
    if parsed.database and parsed.database != ":memory:":
        folder = Path(parsed.database).parent
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o700)  # customer data: the owner only
    engine = create_engine(parsed, connect_args={"timeout": 30, "check_same_thread": False})
    event.listen(engine, "handle_error", _count_error)
    event.listen(engine, "connect", _sqlite_pragmas)
    if migrating:
        event.listen(engine, "connect", _no_implicit_transactions)
        event.listen(engine, "begin", _begin_immediate)
    return engine


def _count_error(context: ExceptionContext) -> None:
    """Every database error, for the metrics (`rapport_store_errors_total{kind}`); a row
    that is already there (`insert_once`) is how the store keeps things once, not one."""
    error = context.sqlalchemy_exception or context.original_exception
    if not isinstance(error, IntegrityError):
        metrics.count(
            STORE_ERRORS, kind="disconnect" if context.is_disconnect else type(error).__name__
        )


def _no_implicit_transactions(connection: Any, _record: Any) -> None:
    connection.isolation_level = None  # we say BEGIN ourselves


def _begin_immediate(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_no_flush(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class Store:
    """One database; every table group's functions take a connection from `begin()`."""

    def __init__(self, url: str = DEFAULT_URL) -> None:
        self.url = url
        self.engine = engine_for(url)
        self._volatile: Engine | None = None
        # SQLite takes one writer at a time and makes the others sleep and retry (in steps
        # of milliseconds): this process's threads that write often queue here instead.
        self.one_writer: AbstractContextManager[object] = (
            threading.Lock() if self.is_sqlite else nullcontext()
        )

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction: committed when the block ends, rolled back on an exception."""
        with self.engine.begin() as connection:
            yield connection

    @contextmanager
    def begin_volatile(self) -> Iterator[Connection]:
        """A transaction whose commit an operating-system crash may lose (never half of
        it): for counters that only slow requests down, so the web app's rate limits
        cost no disk flush per request. PostgreSQL: `synchronous_commit` off for this
        transaction; SQLite: connections of their own with `synchronous=NORMAL` (in WAL
        mode a commit then waits for no fsync)."""
        if not self.is_sqlite:
            with self.engine.begin() as connection:
                connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
                yield connection
            return
        if self._volatile is None:
            in_memory = make_url(self.url).database in (None, "", ":memory:")
            self._volatile = self.engine if in_memory else engine_for(self.url)
            if not in_memory:  # (a database in memory is one per engine: share it)
                event.listen(self._volatile, "connect", _sqlite_no_flush)
        with self._volatile.begin() as connection:
            yield connection

    def upgrade(self, address_sealer: Sealer | None = None) -> str:
        """Apply every migration not applied yet; return the revision now current.
        `address_sealer` seals the link addresses a migration stops keeping in clear;
        without it they are dropped."""
        from alembic import command

        logging.getLogger("alembic").setLevel(logging.WARNING)  # not a line per plugin
        engine = engine_for(self.url, migrating=True) if self.is_sqlite else self.engine
        config = self._alembic_config(engine)
        config.attributes["address_sealer"] = address_sealer
        try:
            command.upgrade(config, "head")
        finally:
            if engine is not self.engine:
                engine.dispose()
        return self.revision() or "none"

    def revision(self) -> str | None:
        with self.engine.connect() as connection:
            if not self.engine.dialect.has_table(connection, "alembic_version"):
                return None
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()

    def head(self) -> str:
        from alembic.script import ScriptDirectory

        head = ScriptDirectory.from_config(self._alembic_config()).get_current_head()
        assert head is not None
        return head

    def ready(self, address_sealer: Sealer | None = None) -> None:
        """Make sure the schema is current: a SQLite file is upgraded in place (nothing to
        install); a shared database must be upgraded with `journey db upgrade` first."""
        try:
            if self.is_sqlite:
                self.upgrade(address_sealer)
                return
            current, head = self.revision(), self.head()
        except OperationalError as exc:  # never the URL: it may carry a password
            raise StoreUnavailable(
                f"the database cannot be reached ({type(exc.orig or exc).__name__})"
            ) from None
        if current != head:
            raise StoreUnavailable(
                f"the database is at revision {current or 'none'}, the code "
                f"needs {head}: run `journey db upgrade`"
            )

    def dispose(self) -> None:
        self.engine.dispose()
        if self._volatile is not None and self._volatile is not self.engine:
            self._volatile.dispose()

    def _alembic_config(self, engine: Engine | None = None) -> Any:
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["engine"] = engine or self.engine
        return config
