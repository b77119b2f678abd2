"""Every table group, imported once so the metadata (and Alembic) knows them all."""

from rapport.store import (
    checkouts,
    consent,
    deliveries,
    journeys,
    limits,
    links,
    payments,
    recipients,
)

__all__ = [
    "checkouts",
    "consent",
    "deliveries",
    "journeys",
    "limits",
    "links",
    "payments",
    "recipients",
]
