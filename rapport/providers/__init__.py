"""Providers: how a message leaves. One module each, with what it needs from settings.

- `base`: the rendered message (`Outgoing`), the two kinds of failure, the `Provider`
  protocol and the router that picks a provider per channel.
- `outbox`: the local outbox file (the default) and an in-memory capture (simulations).
- `smtp`: email over SMTP. `twilio`: SMS through a Twilio-style API, and its inbound
  signature. `webhook`: a signed JSON POST for any channel. `http`: how an HTTP
  provider's answer maps onto retry or skip.

Which provider serves which channel is a setting: `RAPPORT_CHANNEL_<NAME>`.
"""
