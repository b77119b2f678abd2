"""Every table group, imported once so the metadata (and Alembic) knows them all."""

from rapport.store import consent, deliveries, journeys, limits, links, payments, recipients

__all__ = ["consent", "deliveries", "journeys", "limits", "links", "payments", "recipients"]
