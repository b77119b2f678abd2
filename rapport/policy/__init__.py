"""Pure, deterministic policy math the workflow calls: no I/O, no clock.

Everything here takes the current time as an argument, so the same inputs
give the same answer on every replay. The module is passed through
Temporal's sandbox so that `zoneinfo` works normally here.
"""
