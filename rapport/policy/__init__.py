"""Pure, deterministic policy math the workflow calls: no I/O, no clock.

Everything here takes the current time as an argument, so the same inputs
give the same answer on every replay; a journey's zone is the rules recorded in its
history (`zone`), never the worker's tz database.

- `zone`: a customer's time zone: live from the tz database, or recorded rules.
- `window`: the contact window in the customer's time zone.
- `caps`: rolling frequency caps and the minimum gap (the legal voice cap included).
- `schedule`: the earliest moment a message may go, all of the above together.
- `plans`: payment-plan options in the currency's minor units.
"""
