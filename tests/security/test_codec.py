"""The payload codec: encrypted under the first key, readable under any key on the ring,
clear errors for a missing key, a tampered payload or a bad key line."""

from __future__ import annotations

import base64
import os
import zlib

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload

from rapport.security import codec as codec_module
from rapport.security.codec import (
    ENCODING,
    EncryptionCodec,
    KeyProblem,
    KeyRing,
    PayloadUnreadable,
    new_key_line,
)

A, B = new_key_line("a"), new_key_line("b")


def payload(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=text.encode())


async def test_a_payload_round_trips_and_holds_no_plaintext() -> None:
    codec = EncryptionCodec(KeyRing.parse(A))
    original = payload('{"first_name": "Robin", "phone": "+12125550100"}' * 10)
    [sealed] = await codec.encode([original])
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata["encryption-key-id"] == b"a"
    assert b"Robin" not in sealed.SerializeToString()
    assert b"+1212" not in sealed.data
    assert await codec.decode([sealed]) == [original]


async def test_rotation_old_payloads_read_under_the_new_ring() -> None:
    [old] = await EncryptionCodec(KeyRing.parse(A)).encode([payload('"old"')])
    rotated = EncryptionCodec(KeyRing.parse(f"{B},{A}"))
    [new] = await rotated.encode([payload('"new"')])
    assert new.metadata["encryption-key-id"] == b"b"
    assert await rotated.decode([old, new]) == [payload('"old"'), payload('"new"')]
    with pytest.raises(
        PayloadUnreadable,
        match="key 'a', which this process does not hold "
        r"\(it has b\)",
    ):
        await EncryptionCodec(KeyRing.parse(B)).decode([old])


async def test_a_tampered_payload_is_refused_and_plain_payloads_pass() -> None:
    codec = EncryptionCodec(KeyRing.parse(A))
    [sealed] = await codec.encode([payload('"x"')])
    sealed.data = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    with pytest.raises(PayloadUnreadable, match="integrity"):
        await codec.decode([sealed])
    assert await codec.decode([payload('"written before"')]) == [payload('"written before"')]


async def test_a_payload_that_inflates_past_its_bound_is_refused_unread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Attack review of issue 27: a compressed payload was inflated whole. Sealed under
    the key (which a billing system's own codec holds), 2 MB that inflate to gigabytes
    would take the worker's memory on every retry of its task. (The bound is 64 MiB; 1 MiB
    here, so the test stays small.)"""
    monkeypatch.setattr(codec_module, "MAX_INFLATED", 1024 * 1024)
    key = base64.b64decode(A.split(":", 1)[1])
    packed = zlib.compress(b"\0" * (2 * 1024 * 1024), 9)
    nonce = os.urandom(12)
    bomb = Payload(
        metadata={
            "encoding": ENCODING,
            "encryption-key-id": b"a",
            "encryption-compression": b"zlib",
        },
        data=nonce + AESGCM(key).encrypt(nonce, packed, b"a"),
    )
    codec = EncryptionCodec(KeyRing.parse(A))
    with pytest.raises(PayloadUnreadable, match="inflates past"):
        await codec.decode([bomb])
    ours = payload('"' + "x" * 500_000 + '"')  # one of our own, compressed, still reads
    [sealed] = await codec.encode([ours])
    assert sealed.metadata["encryption-compression"] == b"zlib"
    assert await codec.decode([sealed]) == [ours]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("", "holds no key"),
        ("nokey", "entry 1: expected id:base64key"),
        ("a:not-base64!", "key 'a': not base64"),
        (f"a:{base64.b64encode(b'short').decode()}", "5 bytes, AES-256 needs 32"),
        (f"{A},{A}", "key 'a' appears twice"),
    ],
    ids=["empty", "no-colon", "not-base64", "short", "twice"],  # A is random: stable ids for xdist
)
def test_a_bad_key_line_says_what_is_wrong_without_the_key(line: str, problem: str) -> None:
    with pytest.raises(KeyProblem, match=problem) as caught:
        KeyRing.parse(line)
    assert A.split(":")[1] not in str(caught.value)
