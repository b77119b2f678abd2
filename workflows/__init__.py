"""The durable journey: one `DelinquencyJourney` workflow per account.

- `journey`: the workflow's face to Temporal: its type, signals, update and query.
- `steps`: the journey itself, read top to bottom: pin it, walk its steps, finish.
- `delivery`: sending a message under the whole policy.
- `core`: what the parts share (waking, expressions, records, publishing, continue-as-new).
- `state`: what the workflow remembers, and each signal's effect on it.
- `operator_view`: the status query, search attributes and details, from the state.
- `sandbox`: why `DelinquencyJourney` runs unsandboxed, and the sandbox runner the
  worker keeps for any other workflow it may be given.
"""
