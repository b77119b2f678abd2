"""Failed authentications per client address, counted in this process's memory: an
address that sends more than its allowance of requests with no key or a wrong one in a
minute is answered 429 until the minute ends, before its requests cost a store read.

A table of at most `ADDRESSES` entries (the least recently failed one goes when it is
full), no store write per request: each web process counts on its own, so N processes
allow N times the allowance (the per-key limits, counted in the store, are shared). An
IPv6 client is counted by its /64, the block one subscriber is given."""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable

ADDRESSES = 4096  # entries kept: about 0.5 MB at most
WINDOW = 60.0  # seconds: the allowance is per minute


class Strikes:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute, self.clock = per_minute, clock
        self._table: OrderedDict[str, tuple[float, int]] = OrderedDict()

    def waiting(self, address: str) -> int | None:
        """Seconds `address` must wait (over its allowance this minute), or None."""
        entry = self._table.get(_who(address))
        if entry is None:
            return None
        began, count = entry
        left = WINDOW - (self.clock() - began)
        if left <= 0 or count < self.per_minute:
            return None
        return max(1, math.ceil(left))

    def failed(self, address: str) -> None:
        """One more failed authentication from `address`."""
        who, now = _who(address), self.clock()
        began, count = self._table.pop(who, (now, 0))
        if now - began >= WINDOW:
            began, count = now, 0
        self._table[who] = (began, count + 1)  # last: the most recently failed
        while len(self._table) > ADDRESSES:
            self._table.popitem(last=False)


def _who(address: str) -> str:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:  # an IPv4 client on a dual-stack socket
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)
