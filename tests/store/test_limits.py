"""Rate-limit counters in the store: one count per key and window, shared by every
process, atomic under concurrent requests, forgotten once their window is over."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from rapport.store.database import Store
from rapport.store.limits import RateCounts

T0 = 1_700_000_040.0  # the start of a minute


def test_a_key_is_allowed_its_limit_per_window_then_again_in_the_next(store: Store) -> None:
    counts = RateCounts(store)
    answers = [counts.hit([("k", 3)], 60, T0 + n) for n in range(5)]
    assert answers == [True, True, True, False, False]
    assert not counts.hit([("k", 3), ("other", 1)], 60, T0 + 6)  # one key over: refused
    assert not counts.hit([("other", 1)], 60, T0 + 7)  # ... and the other was counted
    assert counts.hit([("k", 3)], 60, T0 + 60)  # a new minute


def test_concurrent_hits_from_many_processes_are_each_counted(store: Store) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: RateCounts(store).hit([("k", 25)], 60, T0), range(40)))
    assert answers.count(True) == 25


def test_keys_of_windows_gone_by_are_forgotten(store: Store) -> None:
    counts = RateCounts(store)
    for n in range(1000):
        counts.hit([(f"made-up-{n}", 60)], 60, T0)
    assert counts.keys() == 1000
    counts.hit([("next-minute", 60)], 60, T0 + 61)
    assert counts.keys() == 1
