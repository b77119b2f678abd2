"""A small Python client for billing systems and operators: start journeys, report
payments, send events, accept plans, read status, list journeys. Other languages use
their Temporal SDK with the JSON Schemas in `schemas/` (docs/billing-integration.md)."""

from rapport.client.journeys import JourneyError, Journeys, list_query
from rapport.contract.journey import summary

__all__ = ["JourneyError", "Journeys", "list_query", "summary"]
