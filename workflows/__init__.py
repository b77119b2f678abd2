"""The durable journey: one `DelinquencyJourney` workflow per account.

- `journey`: the workflow: signals, the update, the query, and the step interpreter.
- `state`: what the workflow remembers, carried across continue-as-new.
- `sandbox`: the sandbox settings every worker uses.
"""
