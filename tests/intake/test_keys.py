"""API keys and Idempotency-Key answers in the store (SQLite and PostgreSQL): attack
review of issue 27."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rapport.intake import keys
from rapport.store import intake
from rapport.store.database import Store
from rapport.store.intake import ApiKeys, IdempotencyKeys


def test_a_key_cannot_be_named_as_another_key_s_id(store: Store) -> None:
    """`journey api-key revoke X` revokes the key named X or with the id X: a key named
    as another's id (12 hex digits) made one revoke take both billing systems offline."""
    book = ApiKeys(store)
    first = keys.create(book, "billing-eu")
    with pytest.raises(ValueError, match="reads as a key's id"):
        keys.create(book, first.key_id)
    assert book.revoke(first.key_id, datetime.now(UTC))
    assert [k.name for k in book.all() if k.revoked_at is None] == []
    keys.create(book, "billing-us")  # an ordinary name still does


def test_expired_answers_are_forgotten_in_bounded_batches(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process's first claim forgets expired answers (a store that kept them for months
    before this review holds millions): a batch at a time, so no request waits long."""
    monkeypatch.setattr(intake, "SWEEP_BATCH", 3)
    old = datetime.now(UTC) - timedelta(hours=30)
    writer = IdempotencyKeys(store)
    for n in range(5):
        assert writer.claim(f"old-{n}", "h", old, old + timedelta(hours=24)) is None
    now = datetime.now(UTC)
    fresh = IdempotencyKeys(store)  # a new process
    assert fresh.claim("new-0", "h", now, now + timedelta(hours=24)) is None
    assert fresh.claim("new-1", "h", now, now + timedelta(hours=24)) is None  # not yet again
    assert writer.forget_expired(now) == 2  # three went with the first claim
