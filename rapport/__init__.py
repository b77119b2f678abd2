"""Rapport: people-first debt-recovery journeys on Temporal."""
