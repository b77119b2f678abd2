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


def test_a_revoked_key_is_refused_within_a_second_and_a_new_one_works_at_once(
    store: Store,
) -> None:
    """The web app trusts a key it read from the store for `keys.FRESH` seconds (a read
    per request cost the API more than its own work): `journey api-key revoke` holds in
    every process within that second; a key created meanwhile works at once, and ids
    the store does not know are never kept (memory holds at most the store's keys)."""
    book = ApiKeys(store)
    now = [100.0]
    check = keys.KeyCheck(book, clock=lambda: now[0])
    assert check.fresh == keys.FRESH <= 2.0
    first = keys.create(book, "billing-eu")
    header = f"Bearer {first.key}"
    assert check.verify(header) is not None
    assert check.verify(f"Bearer {first.key[:-1]}x") is None  # the secret, every time
    assert book.revoke("billing-eu", datetime.now(UTC))
    now[0] += keys.FRESH / 2
    assert check.verify(header) is not None  # within the second: still trusted
    now[0] += keys.FRESH / 2 + 0.01
    assert check.verify(header) is None  # past it: read again, revoked
    second = keys.create(book, "billing-us")
    assert check.verify(f"Bearer {second.key}") is not None  # at once
    for n in range(50):
        assert check.verify(f"Bearer rk_{n:012x}_{'a' * 43}") is None
    assert set(check._read) <= {first.key_id, second.key_id}


def test_a_revoked_key_s_name_is_refused_saying_it_was_revoked(store: Store) -> None:
    """Attack review of issue 27 (an operator replacing a leaked key): `journey api-key
    revoke billing-eu` then `journey api-key create billing-eu` was refused with "an API
    key named 'billing-eu' exists already", while `list` showed it revoked. The refusal
    says the revoked key keeps its name and suggests another; the revoked key stays
    refused and the new one works."""
    from click.testing import CliRunner

    from rapport.cli.app import main

    book = ApiKeys(store)
    old = keys.create(book, "billing-eu")
    assert book.revoke("billing-eu", datetime.now(UTC))
    env = {"RAPPORT_DATABASE_URL": store.url}
    refused = CliRunner().invoke(main, ["api-key", "create", "billing-eu"], env=env)
    assert refused.exit_code != 0
    assert "was revoked on" in refused.output
    assert "choose another name, e.g. billing-eu-2" in refused.output
    made = CliRunner().invoke(main, ["api-key", "create", "billing-eu-2"], env=env)
    assert made.exit_code == 0, made.output
    check = keys.KeyCheck(book)
    assert check.verify(f"Bearer {old.key}") is None
    assert check.verify(f"Bearer {made.stdout.splitlines()[0]}") is not None


def test_a_key_this_process_read_is_known_from_memory(store: Store) -> None:
    """`KeyCheck.knows`: for the API's limit on an address's failed requests, which must
    not lock out a billing system whose address an attacker shares (a NAT, a proxy
    without RAPPORT_FORWARDED_ALLOW_IPS: 30 bogus requests a minute refused its good key
    with 429). Memory only: a key never read, a wrong secret, a revoked key are not."""
    book = ApiKeys(store)
    check = keys.KeyCheck(book)
    made = keys.create(book, "billing-eu")
    header = f"Bearer {made.key}"
    assert not check.knows(header)  # not read yet: never the store
    assert check.verify(header) is not None
    assert check.knows(header)
    assert not check.knows(f"Bearer {made.key[:-1]}x")
    assert not check.knows(None)
    assert not check.knows(f"Bearer rk_{'0' * 12}_{'a' * 43}")
    assert book.revoke("billing-eu", datetime.now(UTC))
    check.fresh = 0.0
    assert check.verify(header) is None
    assert not check.knows(header)
