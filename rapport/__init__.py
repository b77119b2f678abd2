"""Rapport: people-first debt recovery on Temporal. One subpackage per capability; the
layers are written down in docs/architecture.md and enforced by import-linter."""
