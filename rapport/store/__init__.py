"""The store: what outlives one journey, in SQLite (a file under `data/`, nothing to
install) or PostgreSQL (`RAPPORT_DATABASE_URL`). One small module per table group.

- `database`: the engine, transactions and migrations (Alembic, in `migrations/`).
- `schema`: the shared metadata and column types.
- `journeys`: journey versions pinned by content hash.
- `jsonl`: an append-only JSON-lines file (the local outbox and payments ledger).
- `recipients`: which accounts a phone number belongs to (for inbound SMS replies).
- `deliveries`: every message delivered, by account (caps count across journeys).
- `links`: tokens (hashed) a message carries to the web app: the portal's `/r/` link and
  the one-click unsubscribe `/u/`; the address each went to, sealed.
- `limits`: rate-limit counters every web process shares.
- `consent`: consent entries, only ever added (`rapport.consent` reads them).
- `payments`: the payment provider's events already taken, by event id.
- `addresses`, `languages`: what the store knows of an account across its journeys
  (every address, for `journey consent`; its last language, for the web app).
- `tables`: every table group, imported once for the metadata and Alembic.
"""
