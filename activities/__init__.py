"""Temporal activities: everything that touches the outside world.

- `definitions`: load and validate a journey at start (its snapshot pins the version).
- `payments`: `check_payment_status` before every delivery.
- `delivery`: `send_message` and `create_handoff`, through the channels in `channels`.
"""
