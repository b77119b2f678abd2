"""The contract: everything that crosses a process boundary, with the names other programs
rely on (docs/billing-integration.md).

- `names`: workflow type, task queue, workflow ids, the update and query.
- `payloads`: what signals and the update carry.
- `signals`: THE table of signals: name, payload, what it does. The workflow's handlers,
  the client, the JSON Schemas, scenarios and the simulator all read it.
- `portal`: THE table of the portal's sections: slug, template, open before the
  identity check, the link name that lands there. Messages' links and the web app read it.
- `records`: what a journey reports: messages, skips, handoffs, plans.
- `journey`: the workflow's public input, its result and the status query.
- `activities`: the activities' requests and replies.
- `search_attributes`: what operators filter by (never PII: stored unencrypted).
- `schemas`: the JSON Schemas in `schemas/`, for billing systems in other languages.

Plain pydantic models carried by Temporal's pydantic data converter.
"""
