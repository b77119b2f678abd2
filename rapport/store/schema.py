"""The tables' shared metadata, with names for constraints so migrations can refer to them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Connection, DateTime, MetaData, Table, TypeDecorator, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class Sealer(Protocol):
    """Encrypts one field before the store keeps it, and opens it again (None when it no
    longer can: a retired key). `rapport.security.sealing` has the one we use."""

    def seal(self, plain: str) -> str: ...

    def open(self, sealed: str) -> str | None: ...


class Moment(TypeDecorator[datetime]):
    """An aware UTC datetime on every database (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("times in the store are aware datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def insert_once(
    connection: Connection, table: Table, values: dict[str, Any], *same: ColumnElement[bool]
) -> bool:
    """Insert a row unless one matching `same` (its unique key) is there; False when it
    was. Safe against another worker inserting the same row at the same moment."""
    if connection.execute(select(table).where(*same).limit(1)).first() is not None:
        return False
    _transaction_begun(connection)
    try:
        with connection.begin_nested():
            connection.execute(table.insert().values(**values))
    except IntegrityError:
        return False  # another worker inserted it first
    return True


def _transaction_begun(connection: Connection) -> None:
    """Make sure a SAVEPOINT nests in the caller's transaction. pysqlite begins one only
    before an INSERT, UPDATE or DELETE, so a SAVEPOINT as a transaction's first write
    would start one of its own, and its RELEASE would commit the row at once: a rollback
    of the caller's transaction (the send's last look finding a stop) would keep it. So
    on SQLite, BEGIN here (deferred, where pysqlite would have said it)."""
    if connection.dialect.name != "sqlite":
        return
    driver = connection.connection.dbapi_connection
    if driver is not None and not getattr(driver, "in_transaction", True):
        connection.exec_driver_sql("BEGIN")
