"""The runtime: settings, connections to Temporal, the servers, and assembling a worker.

- `settings`: everything from the environment (`RAPPORT_*` and Temporal's names).
- `temporal`: a client for the configured cluster, the data converter, the core
  runtime, and registering the search attributes.
- `servers`: Temporal's dev server (with its UI) and time-skipping test server, from
  the PyPI packages; the one place the project starts either.
- `workers`: a worker with the workflow, its activities and the providers settings choose
  (`python worker.py`, simulations, tests and benchmarks all build theirs here).
- `logs`: one line per event, for people or machines, never personal data.
"""
