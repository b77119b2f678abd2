"""Security: what proves who sent or may use something.

- `links`: the customer's personal self-service links, signed so nobody can forge one.
- `signatures`: HMAC signatures on the webhooks we send (and their verification).
"""
