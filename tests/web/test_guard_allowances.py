"""Per-key rate limits counted in the store a few requests at a time (`guard.Allowances`):
the intake API's key limits, shared by every web process."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from rapport.security.links import LinkSigner
from rapport.store.database import Store
from rapport.store.limits import RateCounts
from rapport.web.guard import RESERVE_MAX, WINDOW_SECONDS, Allowances, reservation

T0 = 1_700_000_040.0  # the start of a minute


def counted(counts: RateCounts, signer: LinkSigner, key: str) -> int:
    with counts.store.begin() as connection:
        from sqlalchemy import text

        return int(
            connection.execute(
                text("SELECT hits FROM rate_counts WHERE key = :k"),
                {"k": signer.mac("rate", "api", key)},
            ).scalar_one()
        )


def test_a_reservation_is_a_hundredth_of_the_limit_at_most_twenty() -> None:
    assert [reservation(n) for n in (1, 20, 199, 600, 1000, 10**6)] == [1, 1, 1, 6, 10, RESERVE_MAX]


def test_processes_never_serve_more_than_the_limit_between_them(store: Store) -> None:
    """Three processes (each its own Allowances) on one store, a key of 600 a minute,
    asking in turn: 600 served in the window, no more; each process writes to the store
    once per 6 requests, and no more once it has seen the count reach the limit."""
    signer = LinkSigner("test")
    counts = RateCounts(store)
    processes = [Allowances(RateCounts(store), signer) for _ in range(3)]
    served = refused = 0
    for n in range(900):
        wait = processes[n % 3].allowed("api", "k1", 600, T0 + n * 0.01)
        if wait is None:
            served += 1
        else:
            refused += 1
            assert 1 <= wait <= WINDOW_SECONDS
    assert served == 600
    assert refused == 300
    # 100 writes of 6, then one more from each of the two processes that had not seen the
    # limit reached: none after that
    assert counted(counts, signer, "k1") == 600 + 2 * reservation(600)
    assert processes[0].allowed("api", "k1", 600, T0 + WINDOW_SECONDS) is None  # next minute


def test_what_a_process_counted_and_did_not_serve_is_lost_to_the_others_at_most(
    store: Store,
) -> None:
    """A process that served one request holds the other five of its reservation: the
    other process gets 600 - 6 plus what it reserved itself and never more."""
    signer = LinkSigner("test")
    quiet, busy = Allowances(RateCounts(store), signer), Allowances(RateCounts(store), signer)
    assert quiet.allowed("api", "k2", 600, T0) is None
    served = sum(busy.allowed("api", "k2", 600, T0 + 1) is None for _ in range(700))
    assert served == 600 - reservation(600)


def test_concurrent_requests_in_one_process_are_each_counted(store: Store) -> None:
    signer = LinkSigner("test")
    allowances = Allowances(RateCounts(store), signer)
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: allowances.allowed("api", "k3", 50, T0), range(80)))
    assert answers.count(None) == 50


def test_processes_whose_clocks_disagree_do_not_reset_each_other_s_count(
    store: Store,
) -> None:
    """Attack review of issue 27 (the reservations): two web processes on hosts whose
    clocks are 2 s apart, a key of 20 a minute, taking turns across the minute's boundary.
    The store kept one window per key, and each write from the other window started the
    count again: both processes served every request for as long as their clocks
    disagreed (40 of 40 here). A window only moves forward: the process behind counts in
    the newer one."""
    signer = LinkSigner("test")
    ahead, behind = Allowances(RateCounts(store), signer), Allowances(RateCounts(store), signer)
    boundary = T0 + WINDOW_SECONDS
    served = 0
    for n in range(40):  # 40 requests in the last second of one clock's minute
        now = boundary + n * 0.02
        process, clock = (ahead, now) if n % 2 else (behind, now - 2)
        served += process.allowed("api", "k4", 20, clock) is None
    assert served <= 20 + 1  # the behind process's first reservation was in its own minute


def test_a_portal_count_is_not_reset_by_a_clock_behind_the_others(store: Store) -> None:
    """The portal's per-link and per-address limits share the counter (`RateCounts.hit`):
    a request stamped with an older window is counted in the newer one."""
    counts = RateCounts(store)
    boundary = T0 + WINDOW_SECONDS
    within = [
        counts.hit([("link", 5)], WINDOW_SECONDS, boundary + n * 0.01 - (2 if n % 2 else 0))
        for n in range(10)
    ]
    assert within.count(True) == 5
