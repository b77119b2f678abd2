"""Sealing one field before the store keeps it: AES-256-GCM under the first key of the
codec's key ring (`RAPPORT_ENCRYPTION_KEYS`), the key's id in the sealed text, so any
key on the ring opens it and rotation works as for Temporal's payloads. The purpose
(`links.address`, ...) is the cipher's associated data with the key id: a value
sealed for one column cannot be passed off as another's.

A sealed value reads `<key id>:<base64url(nonce + ciphertext)>`; a copy of the store
without the keys holds no address.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from rapport.security.codec import NONCE_BYTES, KeyRing


class FieldSealer:
    def __init__(self, ring: KeyRing, purpose: str) -> None:
        self.purpose = purpose
        self._current = ring.current[0]
        self._ciphers = {key_id: AESGCM(key) for key_id, key in ring.keys}

    def seal(self, plain: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self._current].encrypt(
            nonce, plain.encode(), self._associated(self._current)
        )
        return f"{self._current}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, sealed: str) -> str | None:
        """The plain text; None when no key on the ring opens it (a retired key, or
        altered data): the caller goes on without the field."""
        key_id, _, encoded = sealed.partition(":")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            return None
        try:
            raw = base64.urlsafe_b64decode(encoded)
            plain = cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], self._associated(key_id))
        except (binascii.Error, ValueError, InvalidTag):
            return None
        return plain.decode()

    def _associated(self, key_id: str) -> bytes:
        return f"{self.purpose}:{key_id}".encode()
