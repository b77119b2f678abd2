"""The web side: what providers and customers call.

- `inbound`: the SMS provider's replies and delivery callbacks, as signals to journeys.
"""
