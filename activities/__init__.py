"""Temporal activities: everything a journey does to the outside world, one module per
capability. The providers and sources they use live in `rapport.providers` and
`rapport.billing`; secrets stay on this side, out of workflow history.

- `definitions`: `prepare_journey` (the account's journey, pinned by hash and archived
  for every worker; the customer's zone rules; what earlier journeys delivered, for the
  caps) and `zone_rules` (read again when the zone changes or its recorded rules near
  their end), both local activities.
- `delivery`: `send_message` (the balance from billing, the store's consent record,
  rendering, the provider settings choose) and `create_handoff` (a task for a person).
"""
