"""The web side: what providers, operators' browsers and customers call.

- `app`: the one ASGI app (`journey web`), and serving it beside the worker.
- `codec`: Temporal's remote codec protocol, for the web UI to show decrypted payloads.
- `inbound`: the SMS provider's replies and delivery callbacks, as signals to journeys.
"""
