"""Secrets compared in constant time on bytes (text that is not ASCII is unequal, never
an exception); a field sealed with the key ring opens with any key on it, and with
nothing else."""

from __future__ import annotations

from rapport.security.codec import KeyRing, new_key_line
from rapport.security.compare import same
from rapport.security.sealing import FieldSealer


def test_secrets_compare_on_bytes_whatever_arrives() -> None:
    assert same("abc", "abc")
    assert same(b"abc", "abc")
    assert not same("ábc", "abc")
    assert not same("\udcff", "abc")  # a lone surrogate, as a lenient decoder makes them
    assert not same(None, "abc")
    assert not same("", "abc")


def test_a_sealed_field_opens_with_the_ring_and_survives_rotation() -> None:
    old, new = new_key_line("old"), new_key_line("new")
    before = FieldSealer(KeyRing.parse(old), "links.address")
    sealed = before.seal("+12125550100")
    assert "2125550100" not in sealed
    assert sealed.startswith("old:")
    assert before.seal("+12125550100") != sealed  # a fresh nonce each time
    rotated = FieldSealer(KeyRing.parse(f"{new},{old}"), "links.address")
    assert rotated.open(sealed) == "+12125550100"
    assert rotated.seal("x").startswith("new:")
    assert FieldSealer(KeyRing.parse(new), "links.address").open(sealed) is None
    assert FieldSealer(KeyRing.parse(old), "other.column").open(sealed) is None
    assert before.open(sealed[:-4] + "AAAA") is None
    assert before.open("old:not base64!") is None
    assert before.open("nonsense") is None
