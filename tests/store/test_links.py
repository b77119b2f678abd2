"""The links table: identity-check tries taken atomically before an answer is compared
(however many processes try at once), and addresses kept sealed, never in clear; the
migration seals the addresses kept before it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import insert, select, text

from rapport.security.codec import KeyRing, new_key_line
from rapport.security.sealing import FieldSealer
from rapport.store.addresses import known_addresses
from rapport.store.database import Store, engine_for
from rapport.store.links import Link, LinkBook, links, token_hash

SEALER = FieldSealer(KeyRing.parse(new_key_line("k1")), "links.address")
NOW = datetime.now(UTC)


def keep(book: LinkBook, token: str, address: str | None = "+12125550100") -> None:
    book.keep(
        token,
        Link(
            account_id="A-1",
            journey_id="j",
            purpose="respond",
            channel="sms",
            address=address,
            expires_at=NOW + timedelta(days=1),
            check_kind="phone_last4",
            check_hash="h",
        ),
        NOW,
    )


def test_forty_tries_at_once_take_five_and_a_right_answer_gives_its_try_back(
    store: Store,
) -> None:
    book = LinkBook(store)
    keep(book, "T" * 16)
    with ThreadPoolExecutor(max_workers=8) as pool:  # eight processes' worth of writers
        taken = list(pool.map(lambda _: LinkBook(store).try_check("T" * 16, 5), range(40)))
    assert sorted(t for t in taken if t is not None) == [1, 2, 3, 4, 5]
    assert taken.count(None) == 35
    book.check_passed("T" * 16)
    assert book.try_check("T" * 16, 5) == 5
    assert book.try_check("T" * 16, 5) is None
    assert book.try_check("unknown-token-xx", 5) is None


def test_an_address_is_kept_sealed_and_read_back_with_the_key(store: Store) -> None:
    sealed, unsealed = LinkBook(store, SEALER), LinkBook(store)
    keep(sealed, "S" * 16)
    keep(unsealed, "U" * 16)
    with store.begin() as connection:
        rows = [tuple(row) for row in connection.execute(select(links))]
    assert not any("2125550100" in str(row) for row in rows)
    found = sealed.find("S" * 16, "respond", NOW)
    assert found is not None
    assert found.address == "+12125550100"
    assert unsealed.find("S" * 16, "respond", NOW).address is None  # type: ignore[union-attr]
    assert sealed.find("U" * 16, "respond", NOW).address is None  # type: ignore[union-attr]
    other_key = FieldSealer(KeyRing.parse(new_key_line("k2")), "links.address")
    assert LinkBook(store, other_key).find("S" * 16, "respond", NOW).address is None  # type: ignore[union-attr]


def _store_before_sealing(folder: Path) -> Store:
    """A SQLite store at revision 0006 holding one link with its address in clear."""
    store = Store(f"sqlite:///{folder / 'rapport.db'}")
    engine = engine_for(store.url, migrating=True)
    command.upgrade(store._alembic_config(engine), "0006")
    engine.dispose()
    with store.begin() as connection:
        connection.execute(
            insert(links).values(
                token_hash=token_hash("O" * 16),
                account_id="A-1",
                journey_id="j",
                purpose="respond",
                channel="email",
                created_at=NOW,
                expires_at=NOW + timedelta(days=1),
            )
        )
        connection.execute(
            text("UPDATE links SET address = 'riley@example.com'")  # the old column
        )
    return store


def test_the_migration_seals_addresses_kept_in_clear(tmp_path: Path) -> None:
    store = _store_before_sealing(tmp_path)
    assert store.upgrade(SEALER) == store.head()
    with store.begin() as connection:
        raw = [str(tuple(row)) for row in connection.execute(select(links))]
    assert not any("riley" in row for row in raw)
    found = LinkBook(store, SEALER).find("O" * 16, "respond", NOW)
    assert found is not None
    assert found.address == "riley@example.com"
    store.dispose()


def test_without_a_key_the_migration_drops_addresses_rather_than_keep_them(
    tmp_path: Path,
) -> None:
    store = _store_before_sealing(tmp_path)
    store.upgrade()
    with store.begin() as connection:
        raw = [str(tuple(row)) for row in connection.execute(select(links))]
    assert len(raw) == 1
    assert "riley" not in raw[0]
    store.dispose()


def test_journey_consent_reads_a_links_address_with_the_key_and_only_with_it(
    store: Store,
) -> None:
    keep(LinkBook(store, SEALER), "K" * 16)
    assert known_addresses(store, "A-1", SEALER) == {"+12125550100": ["messages"]}
    assert known_addresses(store, "A-1") == {}


@pytest.mark.slow  # 120 transactions at once (the end-to-end test is quick)
def test_an_accounts_links_together_take_no_more_tries_than_its_limit(store: Store) -> None:
    """Each message is a link with five tries of its own: three links of one account
    forwarded together gave fifteen. Forty tries at once on each take ten between them."""
    book = LinkBook(store)
    tokens = [f"{letter}" * 16 for letter in "XYZ"]
    for token in tokens:
        keep(book, token)
    with ThreadPoolExecutor(max_workers=8) as pool:
        taken = list(
            pool.map(lambda n: LinkBook(store).try_check(tokens[n % 3], 5, 10), range(120))
        )
    with store.begin() as connection:
        counts = dict(connection.execute(select(links.c.token_hash, links.c.failed_checks)).all())
    assert sum(t is not None for t in taken) == 10
    assert sum(counts.values()) == 10
    assert max(counts.values()) <= 5
    book.check_passed(tokens[0])  # a right answer gives its try back, to the account too
    assert [book.try_check(token, 5, 10) for token in tokens].count(None) == 2
