"""Personal links: genuine ones verify, forged, altered or expired ones do not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rapport.security.links import InvalidLink, LinkSigner


def test_links_verify_and_reject_tampering() -> None:
    signer = LinkSigner("https://pay.example.com/r", "s3cret")
    now = datetime(2028, 3, 1, tzinfo=UTC)
    url = signer.sign("A-1", "pay_now", now + timedelta(days=30))
    assert signer.verify(url, now) == ("A-1", "pay_now")
    with pytest.raises(InvalidLink, match="signature"):
        signer.verify(url.replace("A-1", "A-2"), now)
    with pytest.raises(InvalidLink, match="signature"):
        signer.verify(url.replace("pay_now", "plan"), now)
    with pytest.raises(InvalidLink, match="signature"):
        LinkSigner("https://pay.example.com/r", "other").verify(url, now)
    with pytest.raises(InvalidLink, match="expired"):
        signer.verify(url, now + timedelta(days=31))
