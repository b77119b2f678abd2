"""Customer data encrypted before it leaves the process: a Temporal payload codec.

Every payload the project's clients and workers write to Temporal (workflow inputs,
activity requests and results, signals, queries, failures' details) is encrypted with
AES-256-GCM under the first key of `RAPPORT_ENCRYPTION_KEYS` (`id:base64key,...`),
compressed first when that makes it smaller. The key's id travels in the payload's
metadata, so any key on the ring decrypts: add a new key in front to rotate, keep the
old ones until their histories are gone. The key id is also the cipher's associated
data: a payload cannot be passed off as one under another key.

What Temporal stores then holds no name, address or phone number; operators who hold
the key see payloads through the codec endpoints (`/codec/decode`), others see
`binary/encrypted`.

A payload that arrives in plain text (another language's client without the codec) is
read as it is by clients. A worker decides by its environment (`plain`): in development
it is read with a warning in the log; in production it is handed on marked
(`PLAIN_REFUSED`, the original encoding kept beside it), and the journey that receives
it fails at once saying how to encrypt and how to delete what was sent in clear
(`rapport.contract.plain`). Failing a task instead would wedge the journey.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
PLAIN_REFUSED = b"binary/plain-refused"  # plain text a production worker will not take
PLAIN_ENCODING = "plain-encoding"  # beside PLAIN_REFUSED: the payload's own encoding
NOTHING = b"binary/null"  # an absent value: nothing in clear
Plain = Literal["read", "warn", "refuse"]
KEY_ID = "encryption-key-id"
COMPRESSION = "encryption-compression"
KEY_BYTES = 32
NONCE_BYTES = 12
MAX_INFLATED = 64 * 1024 * 1024  # Temporal's payloads are 2 MB at most, compressed
COMPRESS_OVER = 1024  # bytes: below this zlib costs more CPU than the bytes it saves
log = logging.getLogger(__name__)


class KeyProblem(ValueError):
    """RAPPORT_ENCRYPTION_KEYS cannot be read: which entry, and why (never the key)."""


class PayloadUnreadable(ValueError):
    """A payload this process cannot decrypt: a key it does not hold, or tampered data."""


@dataclass(frozen=True)
class KeyRing:
    """Keys by id; the first one encrypts."""

    keys: tuple[tuple[str, bytes], ...]

    @classmethod
    def parse(cls, text: str) -> KeyRing:
        keys: list[tuple[str, bytes]] = []
        for number, entry in enumerate((e.strip() for e in text.split(",")), start=1):
            if not entry:
                continue
            key_id, sep, encoded = entry.partition(":")
            if not sep or not key_id.strip():
                raise KeyProblem(f"RAPPORT_ENCRYPTION_KEYS entry {number}: expected id:base64key")
            try:
                key = base64.b64decode(encoded.strip(), validate=True)
            except binascii.Error:
                raise KeyProblem(
                    f"RAPPORT_ENCRYPTION_KEYS key {key_id.strip()!r}: not base64"
                ) from None
            if len(key) != KEY_BYTES:
                raise KeyProblem(
                    f"RAPPORT_ENCRYPTION_KEYS key {key_id.strip()!r}: "
                    f"{len(key)} bytes, AES-256 needs {KEY_BYTES}"
                )
            if any(existing == key_id.strip() for existing, _ in keys):
                raise KeyProblem(f"RAPPORT_ENCRYPTION_KEYS key {key_id.strip()!r} appears twice")
            keys.append((key_id.strip(), key))
        if not keys:
            raise KeyProblem("RAPPORT_ENCRYPTION_KEYS holds no key")
        return cls(tuple(keys))

    @property
    def current(self) -> tuple[str, bytes]:
        return self.keys[0]

    def get(self, key_id: str) -> bytes | None:
        return next((key for existing, key in self.keys if existing == key_id), None)

    @property
    def ids(self) -> list[str]:
        return [key_id for key_id, _ in self.keys]


def new_key_line(key_id: str) -> str:
    """A fresh key as RAPPORT_ENCRYPTION_KEYS takes it: `id:base64key`."""
    return f"{key_id}:{base64.b64encode(os.urandom(KEY_BYTES)).decode()}"


def _inflated(packed: bytes, key_id: str) -> bytes:
    """A compressed payload, at most MAX_INFLATED bytes of it: one that inflates past
    that (2 MB that become gigabytes, from anyone holding a key) would take the worker's
    memory and crash it on every retry, stalling every journey it runs."""
    inflater = zlib.decompressobj()
    try:
        plain = inflater.decompress(packed, MAX_INFLATED)
    except zlib.error as exc:
        raise PayloadUnreadable(f"a payload under key {key_id!r} does not inflate: {exc}") from None
    if inflater.unconsumed_tail:
        raise PayloadUnreadable(
            f"a payload under key {key_id!r} inflates past {MAX_INFLATED} bytes"
        )
    return plain


class EncryptionCodec(PayloadCodec):
    """`plain`: what a payload in plain text becomes: `read` as it is (clients), read
    with a `warn`ing (a development worker), or marked to `refuse` (a production worker)."""

    def __init__(self, ring: KeyRing, plain: Plain = "read") -> None:
        self.ring, self.plain = ring, plain
        key_id, key = ring.current
        self._id, self._cipher = key_id, AESGCM(key)
        self._ciphers = {existing: AESGCM(k) for existing, k in ring.keys}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        plain = payload.SerializeToString()
        metadata = {"encoding": ENCODING, KEY_ID: self._id.encode()}
        if len(plain) > COMPRESS_OVER:
            packed = zlib.compress(plain, 6)
            if len(packed) < len(plain):
                plain, metadata[COMPRESSION] = packed, b"zlib"
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._cipher.encrypt(nonce, plain, self._id.encode())
        return Payload(metadata=metadata, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        encoding = payload.metadata.get("encoding", b"")
        if encoding != ENCODING:
            return self._plain(payload, encoding)
        key_id = payload.metadata.get(KEY_ID, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadUnreadable(
                f"a payload is encrypted with key {key_id!r}, which this process does not "
                f"hold (it has {', '.join(self.ring.ids)}): add that key to "
                "RAPPORT_ENCRYPTION_KEYS"
            )
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = cipher.decrypt(nonce, sealed, key_id.encode())
        except (InvalidTag, ValueError):  # ValueError: too short to hold a nonce
            raise PayloadUnreadable(
                f"a payload under key {key_id!r} fails its integrity "
                "check: it was altered, or the key is not the one "
                "that wrote it"
            ) from None
        if payload.metadata.get(COMPRESSION) == b"zlib":
            plain = _inflated(plain, key_id)
        return Payload.FromString(plain)

    def _plain(self, payload: Payload, encoding: bytes) -> Payload:
        """A payload not encrypted: written before encryption was on, or by a client
        without the codec. Nothing in it (an absent value) is nothing in clear."""
        if self.plain == "read" or encoding in (NOTHING, PLAIN_REFUSED) or not payload.data:
            return payload
        if self.plain == "warn":
            log.warning(
                "a payload arrived in plain text (%s): in production the journey would "
                "fail; encrypt with the codec or use the HTTP API (docs/billing-integration.md)",
                encoding.decode(errors="replace"),
            )
            return payload
        metadata = dict(payload.metadata)
        metadata["encoding"], metadata[PLAIN_ENCODING] = PLAIN_REFUSED, encoding
        return Payload(metadata=metadata, data=payload.data)
