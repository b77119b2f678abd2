"""Security: what proves who sent or may use something.

- `links`: the links a message carries: one opaque token per message, derived with the
  link secret (unguessable without it) and kept in the store only as a hash.
- `signatures`: HMAC signatures on the webhooks we send (and their verification).
- `codec`: the payload codec that encrypts customer data in Temporal's history.
- `sealing`: one field encrypted with the codec's keys before the store keeps it.
- `compare`: secrets compared in constant time on bytes.
"""
