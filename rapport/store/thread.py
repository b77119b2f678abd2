"""A thread of its own for the store calls the intake API's requests wait on (the key
check, the rate limit's reservations, the Idempotency-Key's claim and answer): the
event loop hands a call over and awaits it; the thread runs the calls in the order
given and wakes the loop once for all those it finished meanwhile. `asyncio.to_thread`
cost a request more than its store calls (a pool's future chained to the loop's, a
thread woken and a wake-up of the loop for each: 0.25 ms of CPU a request, measured);
one thread also queues this process's writers, as SQLite wants them. Its calls are
short (one statement each, SQLite's writes without a disk flush); a slow store slows
them one after another, as it slowed the pool's."""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
Call = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[[], Any]]
Settled = tuple["asyncio.Future[Any]", Any, BaseException | None]


class StoreThread:
    def __init__(self, name: str) -> None:
        self.name = name
        self._calls: queue.SimpleQueue[Call] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._starting = threading.Lock()

    async def run(self, call: Callable[[], T]) -> T:
        """`call()` on the store's thread: its result, or its exception raised here."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._started()
        self._calls.put((loop, future, call))
        return await future

    def _started(self) -> None:
        """The thread, started on first use (a daemon: it holds nothing to finish)."""
        if self._thread is None:
            with self._starting:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._work, name=self.name, daemon=True)
                    self._thread.start()

    def _work(self) -> None:
        while True:
            done: dict[asyncio.AbstractEventLoop, list[Settled]] = {}
            call: Call | None = self._calls.get()
            while call is not None:  # every call waiting, then one wake-up per loop
                loop, future, function = call
                try:
                    done.setdefault(loop, []).append((future, function(), None))
                except BaseException as exc:  # the caller's to handle, in its loop
                    done.setdefault(loop, []).append((future, None, exc))
                try:
                    call = self._calls.get_nowait()
                except queue.Empty:
                    call = None
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
