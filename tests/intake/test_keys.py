"""API keys in the store: attack review of issue 27."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rapport.intake import keys
from rapport.store.database import Store
from rapport.store.intake import ApiKeys


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
