"""The durable journey: one `DelinquencyJourney` workflow per account.

- `journey`: the workflow, read top to bottom: the run, the steps, signals, update, query.
- `delivery`: sending a message under the whole policy.
- `core`: what the parts share (waking, expressions, records, publishing, continue-as-new).
- `state`: what the workflow remembers, and each signal's effect on it.
- `operator_view`: the status query, search attributes and details, from the state.
- `sandbox`: the sandbox settings every worker uses.
"""
