"""Every table group, imported once so the metadata (and Alembic) knows them all."""

from rapport.store import journeys

__all__ = ["journeys"]
