"""What every provider shares: the message it gets, how it fails, and the router."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

Receipt = Literal["delivered", "duplicate"]


class PermanentFailure(Exception):
    """The provider refused this message for good (bad number, rejected address):
    the step is skipped with this reason and the journey goes on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientFailure(Exception):
    """Worth retrying (connection error, timeout, 5xx, 429): `retry_after` seconds
    when the provider said how long to wait."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Outgoing:
    """A rendered message (or handoff task) ready for a provider."""

    key: str
    kind: Literal["message", "handoff"]
    channel: str
    account_id: str
    to: str
    at: str
    subject: str | None
    body: str
    step: str
    template: str
    unsubscribe_url: str | None = None  # email: List-Unsubscribe, one click (RFC 8058)


class Provider(Protocol):
    """Delivers one item; raises PermanentFailure or TransientFailure.

    `idempotent` is True when a redelivery with the same key cannot reach the
    customer twice (the provider or receiver honours the key)."""

    idempotent: bool

    async def deliver(self, item: Outgoing) -> Receipt: ...


class Router:
    """Which provider serves which channel name; `*` serves the rest."""

    def __init__(self, routes: Mapping[str, Provider]) -> None:
        self.routes = dict(routes)

    def for_channel(self, name: str) -> Provider:
        route = self.routes.get(name) or self.routes.get("*")
        if route is None:
            raise LookupError(f"no provider is configured for {name!r}")
        return route
