"""The web side: what providers, operators' browsers and customers call.

- `app`: the one ASGI app (`journey web`), and serving it beside the worker.
- `shield`: what every request passes (Host, body limits, security headers, refusals).
- `portal`: the portal, where a message's link lands (`/r/{token}`): a package (its
  sections' handlers, templates, stylesheet and catalogs).
- `guard`: rate limits (in the store), the session after the identity check, CSRF.
- `payments`: the payment provider's signed webhook, and the dev stand-in provider.
- `unsubscribe`: the emails' one-click unsubscribe (RFC 8058).
- `inbound`: the SMS provider's replies and delivery callbacks, as signals to journeys.
- `codec`: Temporal's remote codec protocol, for the web UI to show decrypted payloads.
- `journeys`: the web app's Temporal client (status, signals, the plan update).
- `problems`: RFC 9457 problem documents for the JSON endpoints.
"""
