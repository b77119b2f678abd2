"""The store: what outlives one journey.

- `jsonl`: an append-only JSON-lines file, shared safely by threads and processes
  (the local outbox, the local payments ledger and the SMS recipient index use it).
- `recipients`: which accounts a phone number belongs to, as keyed hashes.
"""
