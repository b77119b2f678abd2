"""Pure, deterministic policy math the workflow calls: no I/O, no clock.

Everything here takes the current time as an argument, so the same inputs
give the same answer on every replay. The package is passed through
Temporal's sandbox so that `zoneinfo` works normally here.

- `window`: the contact window in the customer's time zone.
- `caps`: rolling frequency caps and the minimum gap (the legal voice cap included).
- `schedule`: the earliest moment a message may go, all of the above together.
- `plans`: payment-plan options in the currency's minor units.
"""
