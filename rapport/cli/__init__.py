"""The `journey` command, on top of everything else.

- `app`: the command group and what every command shares (errors, exits, connecting).
- `design`: for journey designers: validate, rules, schema, preview, simulate, outbox.
- `operate`: for billing systems and operators: start, status, list, pay, update, signal.
- `intake`: `journey api-key` (the HTTP API's keys) and `journey import` (daily files).
- `payments`: the payments ledger (`journey payments`), for an account or the billing team.
- `audit`: `journey audit`, every contact of an account with the rule that decided it.
- `records`: the store: `db upgrade`, `consent` to read or correct a customer's record,
  `links revoke`.
- `web`: `journey web` (the web app) and `journey keys new`.
- `upgrades`: `journey replay-check`, before a new worker version is made current.
- `parsing`: reading amounts and `key=value` fields as people type them.
- `demo`: the demo journeys `make run` starts.
"""

from rapport.cli import (  # noqa: F401  (each registers its commands)
    audit,
    design,
    intake,
    operate,
    payments,
    records,
    upgrades,
    web,
)
from rapport.cli.app import main

__all__ = ["main"]
