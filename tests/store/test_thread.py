"""The store's thread for the intake API's calls: results and exceptions come back to
the caller's loop, calls run in the order given, one thread for all of them."""

from __future__ import annotations

import asyncio
import functools
import threading
import time

import pytest

from rapport.store.thread import StoreThread


async def test_calls_run_in_order_on_one_thread_and_answer_their_callers() -> None:
    store_thread = StoreThread("test-store")
    ran: list[tuple[int, str]] = []

    def call(n: int) -> int:
        ran.append((n, threading.current_thread().name))
        return n * 2

    answers = await asyncio.gather(
        *(store_thread.run(functools.partial(call, n)) for n in range(50))
    )
    assert answers == [n * 2 for n in range(50)]
    assert [n for n, _ in ran] == list(range(50))
    assert {name for _, name in ran} == {"test-store"}


async def test_an_exception_is_raised_to_its_caller_alone() -> None:
    store_thread = StoreThread("test-store")

    def fails() -> None:
        raise LookupError("nothing")

    good = store_thread.run(lambda: "ok")
    with pytest.raises(LookupError, match="nothing"):
        await store_thread.run(fails)
    assert await good == "ok"
    assert await store_thread.run(lambda: 1) == 1  # the thread lives on


async def test_several_threads_answer_every_call() -> None:
    """PostgreSQL's calls wait on the network: a few threads share the calls."""
    store_thread = StoreThread("test-store", threads=3)
    names: set[str] = set()

    def call(n: int) -> int:
        names.add(threading.current_thread().name)
        return n

    answers = await asyncio.gather(
        *(store_thread.run(functools.partial(call, n)) for n in range(200))
    )
    assert answers == list(range(200))
    assert names == {"test-store"}
    assert len(store_thread._started_threads) == 3


async def test_a_call_that_does_not_answer_is_a_store_unavailable_and_the_thread_recovers() -> None:
    """Attack review of issue 27: a store call that hangs (PostgreSQL holding a lock, or
    unreachable: its calls have no timeout) left every API request waiting for ever.
    The caller gets StoreUnavailable (the API's 503) after `wait`; the calls queued
    behind it whose callers gave up are not run; once the store answers, the thread
    serves the next call."""
    from rapport.store.database import StoreUnavailable

    store_thread = StoreThread("test-store", wait=0.2)
    stuck, ran = threading.Event(), []
    first = asyncio.ensure_future(store_thread.run(stuck.wait))
    await asyncio.sleep(0.05)  # the thread is in the stuck call
    with pytest.raises(StoreUnavailable, match=r"no answer within 0\.2 s"):
        await store_thread.run(lambda: ran.append("given up"))
    with pytest.raises(StoreUnavailable):
        await first
    stuck.set()
    assert await store_thread.run(lambda: "back") == "back"
    assert ran == []


async def test_a_busy_queue_does_not_hold_back_the_answers() -> None:
    """A thread ran every call waiting before it answered any: while calls kept coming
    (a burst, a slow store), no request was answered. Answers go out every BATCH calls."""
    store_thread = StoreThread("test-store")
    ran: list[int] = []

    def call(n: int) -> int:
        time.sleep(0.001)
        ran.append(n)
        return n

    calls = [
        asyncio.ensure_future(store_thread.run(functools.partial(call, n))) for n in range(300)
    ]
    assert await calls[0] == 0
    assert len(ran) < 100
    assert await asyncio.gather(*calls) == list(range(300))
