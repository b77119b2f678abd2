"""The send's last look at the store, right before the provider call, is one
transaction: the message's link kept and its delivery logged, then the journey's stops
and the consent record read. The provider is called only once it has committed (the link
works the moment the text arrives; the caps of the account's later journeys count it);
a stop found rolls it all back."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.delivery import DeliveryActivities
from rapport.consent.book import ConsentBook
from rapport.contract.activities import SendMessage
from rapport.providers.base import Outgoing, PermanentFailure, Receipt, Router
from rapport.security.links import LinkSigner
from rapport.store.database import Store
from rapport.store.deliveries import DeliveryLog, deliveries
from rapport.store.links import LinkBook, links
from rapport.store.stops import JourneyStop, JourneyStops
from tests.sends import send_message

INSTANCE = "delinquency-T-1/20280301T090000.000000Z"


def request() -> SendMessage:
    return send_message(
        {"nudge.sms.j2": "Still {{ balance }}. {{ links.pay_now }} {{ opt_out }}"},
        channel="sms",
        template="nudge",
        instance=INSTANCE,
    )


def rows(store: Store, table: object) -> int:
    with store.begin() as connection:
        count: int = connection.execute(select(func.count()).select_from(table)).scalar_one()  # type: ignore[arg-type]
    return count


class Looking:
    """A provider that looks at the store when it is called."""

    idempotent = True

    def __init__(self, store: Store, refuse: bool = False, begun: list[str] | None = None) -> None:
        self.store, self.refuse = store, refuse
        self.begun = begun if begun is not None else []
        self.seen: list[tuple[int, int]] = []
        self.transactions_before: int | None = None

    async def deliver(self, item: Outgoing) -> Receipt:
        self.transactions_before = len(self.begun)
        self.seen.append((rows(self.store, links), rows(self.store, deliveries)))
        if self.refuse:
            raise PermanentFailure("21211: not a mobile number")
        return "delivered"


def activities(store: Store, provider: Looking) -> DeliveryActivities:
    return DeliveryActivities(
        Router({"*": provider}),
        LinkSigner("k"),
        consent=ConsentBook(store),
        deliveries=DeliveryLog(store),
        links=LinkBook(store),
        stops=JourneyStops(store),
    )


@pytest.fixture
def transactions(sqlite_store: Store) -> list[str]:
    begun: list[str] = []
    event.listen(sqlite_store.engine, "begin", lambda connection: begun.append("begin"))
    return begun


async def test_the_link_and_the_delivery_are_committed_before_the_provider_is_called(
    sqlite_store: Store, transactions: list[str]
) -> None:
    provider = Looking(sqlite_store, begun=transactions)
    outcome = await ActivityEnvironment().run(
        activities(sqlite_store, provider).send_message, request()
    )
    assert outcome.status == "delivered"
    assert provider.seen == [(1, 1)]  # a tap on the link works; later caps count it
    assert provider.transactions_before == 1  # the whole last look: one transaction


async def test_a_stop_found_in_the_last_look_keeps_nothing_and_sends_nothing(
    store: Store,
) -> None:
    """Replays a finding: on SQLite the link and the delivery were kept all the same (a
    SAVEPOINT as a transaction's first write committed at once; rapport.store.schema)."""
    JourneyStops(store).record(JourneyStop(INSTANCE, "T-1", 1, datetime.now(UTC), ceased=True))
    provider = Looking(store)
    outcome = await ActivityEnvironment().run(activities(store, provider).send_message, request())
    assert (outcome.status, outcome.detail) == ("called_off", "ceased")
    assert provider.seen == []
    assert (rows(store, links), rows(store, deliveries)) == (0, 0)


class Slow(ConsentBook):
    """The consent record, answering the last look only once it is let go."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.looking, self.go = threading.Event(), threading.Event()

    def refusal(self, *args: Any, **kwargs: Any) -> Any:
        self.looking.set()
        self.go.wait(10)
        return super().refusal(*args, **kwargs)


async def test_a_stop_that_cancels_the_send_during_the_last_look_counts_no_message(
    sqlite_store: Store,
) -> None:
    """The cancellation lands while the last look's thread runs: no provider call, and
    the delivery that thread logged is taken back (it counted for the caps of the
    account's later journeys, for a message that never went)."""
    provider = Looking(sqlite_store)
    sends = activities(sqlite_store, provider)
    slow = Slow(sqlite_store)
    sends.consent = slow
    env = ActivityEnvironment()
    running = asyncio.ensure_future(env.run(sends.send_message, request()))
    assert await asyncio.to_thread(slow.looking.wait, 10)
    env.cancel()
    await asyncio.sleep(0.1)
    slow.go.set()
    with pytest.raises(asyncio.CancelledError):
        await running
    await asyncio.sleep(0.3)  # the thread's transaction has ended by now
    assert provider.seen == []
    assert rows(sqlite_store, deliveries) == 0


async def test_a_message_the_provider_refuses_for_good_counts_for_no_cap(
    sqlite_store: Store,
) -> None:
    provider = Looking(sqlite_store, refuse=True)
    outcome = await ActivityEnvironment().run(
        activities(sqlite_store, provider).send_message, request()
    )
    assert outcome.status == "rejected"
    assert rows(sqlite_store, deliveries) == 0


async def test_a_store_that_cannot_answer_means_no_send_and_a_retry(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'gone' / 'r.db'}")  # never migrated: no tables
    provider = Looking(store)
    with pytest.raises(ApplicationError) as raised:
        await ActivityEnvironment().run(activities(store, provider).send_message, request())
    assert raised.value.type == "StoreUnavailable"
    assert not raised.value.non_retryable
    assert provider.seen == []
    store.dispose()
