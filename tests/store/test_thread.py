"""The store's thread for the intake API's calls: results and exceptions come back to
the caller's loop, calls run in the order given, one thread for all of them."""

from __future__ import annotations

import asyncio
import functools
import threading

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
