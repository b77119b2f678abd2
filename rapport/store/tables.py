"""Every table group, imported once so the metadata (and Alembic) knows them all."""

from rapport.store import (
    checkouts,
    consent,
    deliveries,
    intake,
    journeys,
    limits,
    links,
    payments,
    recipients,
    stops,
)

__all__ = [
    "checkouts",
    "consent",
    "deliveries",
    "intake",
    "journeys",
    "limits",
    "links",
    "payments",
    "recipients",
    "stops",
]
