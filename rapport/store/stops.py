"""What each running journey has been told to stop for, as the journey recorded it: paid,
ceased, a hold (a pause or a dispute), the channels opted out of. One row per journey
instance, written by the workflow (through the `record_stop` activity) the moment a stop
reaches it, and read by the send activity right before the provider call: a stop that a
journey heard from any source, a raw Temporal signal included, stops a send in flight.

Rows only move forward: each write carries the journey's stop number, and a write older
than the row (a retry that lost a race) changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Boolean, Column, Connection, Integer, String, Table, select, update
from sqlalchemy.exc import SQLAlchemyError

from rapport.store.database import Store, StoreUnavailable
from rapport.store.schema import Moment, insert_once, metadata

journey_stops = Table(
    "journey_stops",
    metadata,
    Column("instance", String(255), primary_key=True),  # the journey's id and start
    Column("account_id", String(128), nullable=False, index=True),
    Column("seq", Integer, nullable=False),
    Column("paid", Boolean, nullable=False),
    Column("ceased", Boolean, nullable=False),
    Column("held", Boolean, nullable=False),
    Column("opted_out", String(255), nullable=False),  # channels, space-separated
    Column("at", Moment, nullable=False),
)


@dataclass(frozen=True)
class JourneyStop:
    instance: str
    account_id: str
    seq: int
    at: datetime
    paid: bool = False
    ceased: bool = False
    held: bool = False
    opted_out: tuple[str, ...] = ()

    def reason(self, channel: str, reminder: bool) -> str | None:
        """Why a message on `channel` may not go now, or None."""
        if self.ceased:
            return "ceased"
        if channel in self.opted_out:
            return "opted_out"
        if self.held:
            return "held"
        if self.paid and reminder:
            return "paid"
        return None


class JourneyStops:
    def __init__(self, store: Store) -> None:
        self.store = store

    def record(self, stop: JourneyStop) -> None:
        """Keep `stop` unless the row already holds a later one. Raises StoreUnavailable."""
        values = {
            "account_id": stop.account_id,
            "seq": stop.seq,
            "paid": stop.paid,
            "ceased": stop.ceased,
            "held": stop.held,
            "opted_out": " ".join(stop.opted_out),
            "at": stop.at,
        }
        same = journey_stops.c.instance == stop.instance
        try:
            with self.store.begin() as connection:
                if not insert_once(
                    connection, journey_stops, {"instance": stop.instance, **values}, same
                ):
                    connection.execute(
                        update(journey_stops)
                        .where(same, journey_stops.c.seq < stop.seq)
                        .values(**values)
                    )
        except SQLAlchemyError as exc:
            raise StoreUnavailable(f"stop not recorded: {type(exc).__name__}") from None

    def current(self, instance: str, connection: Connection | None = None) -> JourneyStop | None:
        """The journey's stops; in `connection`'s transaction when given (the send's last
        look: its errors are the caller's), else its own."""
        if connection is None:
            try:
                with self.store.begin() as own:
                    return self.current(instance, own)
            except SQLAlchemyError as exc:
                raise StoreUnavailable(f"stops not read: {type(exc).__name__}") from None
        row = connection.execute(
            select(journey_stops).where(journey_stops.c.instance == instance)
        ).first()
        if row is None:
            return None
        return JourneyStop(
            instance=row.instance,
            account_id=row.account_id,
            seq=row.seq,
            at=row.at,
            paid=row.paid,
            ceased=row.ceased,
            held=row.held,
            opted_out=tuple(row.opted_out.split()),
        )
