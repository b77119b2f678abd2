"""Billing: where a customer's balance comes from, asked right before a delivery.

- `sources`: the billing system over HTTP, a local ledger of payments (the default
  when no billing URL is set) and the journey's own signalled balance (simulations).
"""
