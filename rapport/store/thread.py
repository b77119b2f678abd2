"""Threads of their own for the store calls the intake API's requests wait on (the key
check, the rate limit's reservations, the Idempotency-Key's claim and answer): the
event loop hands a call over and awaits it; a thread takes every call waiting, runs
them and wakes the loop once for all of them. `asyncio.to_thread` cost a request more
than its store calls (a pool's future chained to the loop's, a thread woken and a
wake-up of the loop for each: 0.25 ms of CPU a request, measured). One thread for
SQLite (it takes one writer at a time anyway: the calls run in the order given), a few
for PostgreSQL (each call waits on the network).

A call that does not answer within `WAIT` seconds (the database down, unreachable or
holding a lock: PostgreSQL's calls have no timeout of their own, SQLite's waits 30 s for
a writer) raises `StoreUnavailable` to its caller, which answers 503 and stays free; a
call whose caller gave up is not run when its turn comes (a claim made for no one would
answer "still running" to the retries), and the threads serve the rest once the
database answers again. The calls a thread finished are answered every `BATCH` calls
(a thread that always found another call waiting answered none while the queue was
busy)."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from rapport.store.database import StoreUnavailable

T = TypeVar("T")
Call = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[[], Any]]
Settled = tuple["asyncio.Future[Any]", Any, BaseException | None]
WAIT = 5.0  # seconds a request waits for a store call (then 503, Retry-After)
BATCH = 32  # calls a thread runs before it answers them


class StoreThread:
    def __init__(self, name: str, threads: int = 1, wait: float | None = None) -> None:
        self.name, self.threads = name, threads
        self.wait = WAIT if wait is None else wait
        self._calls: queue.SimpleQueue[Call] = queue.SimpleQueue()
        self._started_threads: list[threading.Thread] = []
        self._starting = threading.Lock()

    async def run(self, call: Callable[[], T]) -> T:
        """`call()` on the store's thread: its result, or its exception raised here;
        StoreUnavailable when it has not answered within `wait` seconds."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._started()
        self._calls.put((loop, future, call))
        try:
            async with asyncio.timeout(self.wait):
                return await future  # (a timeout cancels the future: the call is skipped)
        except TimeoutError:
            raise StoreUnavailable(f"no answer within {self.wait:g} s") from None

    def _started(self) -> None:
        """The threads, started on first use (daemons: they hold nothing to finish)."""
        if not self._started_threads:
            with self._starting:
                while len(self._started_threads) < self.threads:
                    thread = threading.Thread(target=self._work, name=self.name, daemon=True)
                    thread.start()
                    self._started_threads.append(thread)

    def _work(self) -> None:
        while True:
            done: dict[asyncio.AbstractEventLoop, list[Settled]] = {}
            call: Call | None = self._calls.get()
            ran = 0
            while call is not None:  # the calls waiting (a batch), then a wake-up per loop
                loop, future, function = call
                if not future.cancelled():  # (its caller gave up: not run for no one)
                    ran += 1
                    try:
                        done.setdefault(loop, []).append((future, function(), None))
                    except BaseException as exc:  # the caller's to handle, in its loop
                        done.setdefault(loop, []).append((future, None, exc))
                call = None
                if ran < BATCH:
                    with contextlib.suppress(queue.Empty):
                        call = self._calls.get_nowait()
            for loop, settled in done.items():
                with contextlib.suppress(RuntimeError):  # its loop closed meanwhile
                    loop.call_soon_threadsafe(_settle, settled)


def _settle(settled: list[Settled]) -> None:
    for future, result, error in settled:
        if future.cancelled():
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
