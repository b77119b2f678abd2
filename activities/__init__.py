"""Temporal activities: everything a journey does to the outside world, one module per
capability. The providers and sources they use live in `rapport.providers` and
`rapport.billing`; secrets stay on this side, out of workflow history.

- `definitions`: `load_journey`, find and validate the account's journey at start.
- `payments`: `check_payment_status` before every delivery.
- `delivery`: `send_message` and `create_handoff`, through the providers settings choose.
"""
