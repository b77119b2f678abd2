"""The consent book on SQLite and on PostgreSQL: a "no" outlives any journey."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rapport.channels.addresses import BadAddress
from rapport.consent.book import ConsentBook
from rapport.store.database import Store, StoreUnavailable

T0 = datetime(2028, 3, 1, 12, tzinfo=UTC)


def later(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_a_stop_from_a_phone_holds_for_every_account_on_that_number(store: Store) -> None:
    book = ConsentBook(store)
    book.record("opt_out", "sms", "sms_keyword", address="+1 (212) 555-0100", at=T0)
    for account in ("A-1", "A-2"):  # a number two accounts share
        refusal = book.refusal(account, "sms", "+12125550100")
        assert refusal is not None
        assert refusal.reason == "opted_out"
        assert refusal.detail().startswith("opted_out: sms_keyword at 2028-03-01T12:00")
    assert book.refusal("A-1", "sms", "+12125550199") is None  # another number
    assert book.refusal("A-1", "email", "a1@example.com") is None  # another channel


def test_start_restores_and_a_later_stop_holds_again(store: Store) -> None:
    book = ConsentBook(store)
    book.record("opt_out", "sms", "sms_keyword", address="+12125550100", at=T0)
    book.record("opt_in", "sms", "sms_keyword", address="+12125550100", at=later(1))
    assert book.refusal("A-1", "sms", "+12125550100") is None
    book.record("opt_out", "sms", "portal", account_id="A-1", at=later(2))
    assert book.refusal("A-1", "sms", "+12125550100") is not None
    assert book.refusal("A-2", "sms", "+12125550100") is None  # A-1's own choice


def test_a_cease_holds_on_every_channel_until_an_opt_in_to_everything(store: Store) -> None:
    book = ConsentBook(store)
    book.record("cease", "all", "operator", account_id="A-1", at=T0)
    book.record("opt_in", "sms", "sms_keyword", address="+12125550100", at=later(1))
    for channel, address in (("sms", "+12125550100"), ("email", "Robin@Example.com")):
        refusal = book.refusal("A-1", channel, address)
        assert refusal is not None
        assert refusal.reason == "ceased"
    book.record("opt_in", "all", "portal", account_id="A-1", at=later(2))
    assert book.refusal("A-1", "email", "robin@example.com") is None


def test_an_email_address_is_one_address_however_it_is_typed(store: Store) -> None:
    book = ConsentBook(store)
    book.record("opt_out", "email", "email_one_click", address=" Robin@Example.COM ", at=T0)
    assert book.refusal("A-9", "email", "robin@example.com") is not None


def test_a_provider_retry_is_recorded_once(store: Store) -> None:
    book = ConsentBook(store)
    assert book.record(
        "opt_out", "sms", "sms_keyword", address="+12125550100", reference="SM1", at=T0
    )
    assert not book.record(
        "opt_out", "sms", "sms_keyword", address="+12125550100", reference="SM1", at=later(1)
    )
    assert len(book.entries(None, ("+12125550100",))) == 1


def test_an_address_that_is_neither_phone_nor_email_is_refused(store: Store) -> None:
    with pytest.raises(BadAddress, match="neither"):
        ConsentBook(store).record("opt_out", "sms", "sms_keyword", address="2125550100")


def test_a_store_that_fails_says_so_rather_than_pretending(tmp_path: Path) -> None:
    book = ConsentBook(Store(f"sqlite:///{tmp_path / 'never-migrated.db'}"))  # no tables
    with pytest.raises(StoreUnavailable):
        book.record("opt_out", "sms", "sms_keyword", address="+12125550100")
    with pytest.raises(StoreUnavailable):
        book.refusal("A-1", "sms", "+12125550100")
