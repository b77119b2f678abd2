"""The web app's view of running journeys: the status query, signals and the plan update,
through the client, connected on first use (the web app starts without Temporal and
says so on a page, not with a traceback)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any, TypeVar

from temporalio.client import Client

from rapport.client.journeys import JourneyError, Journeys
from rapport.contract.journey import JourneyStatus
from rapport.contract.records import AcceptedPlan
from rapport.payments.desk import Told
from rapport.runtime.settings import Settings
from rapport.runtime.temporal import connect

log = logging.getLogger(__name__)
WITHIN = 5.0  # seconds a page waits for Temporal
T = TypeVar("T")


class Unavailable(Exception):
    """Temporal (or the journey's worker) did not answer in time."""


class JourneyLink:
    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self.settings, self._client = settings, client
        self._journeys: Journeys | None = None
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        async with self._lock:
            if self._client is None:
                try:
                    self._client = await asyncio.wait_for(connect(self.settings), WITHIN)
                except Exception as exc:
                    raise Unavailable(type(exc).__name__) from None
        return self._client

    async def journeys(self) -> Journeys:
        """One client for the app (its payments ledger opened once)."""
        client = await self.client()
        if self._journeys is None or self._journeys.client is not client:
            self._journeys = Journeys(client, self.settings)
        return self._journeys

    async def status(self, account_id: str) -> JourneyStatus | None:
        """The journey's status; None when the account has no journey (or it is gone)."""
        journeys = await self.journeys()
        try:
            return await _answered(journeys.status(account_id), WITHIN)
        except JourneyError:
            return None

    async def signal(self, account_id: str, name: str, fields: dict[str, Any]) -> None:
        """Raises JourneyError when the journey has ended or refuses, Unavailable when
        Temporal does not answer."""
        journeys = await self.journeys()
        await _answered(journeys.signal(account_id, name, fields), WITHIN)

    async def tell_payment(
        self, account_id: str, signal: str, payload: dict[str, Any], payment_id: str
    ) -> Told:
        """`payment_received` or `payment_reversed`, and whether the journey took it
        (`Journeys.tell_payment`); Unavailable when Temporal does not answer."""
        journeys = await self.journeys()
        return await _answered(
            journeys.tell_payment(account_id, signal, payload, payment_id), WITHIN * 2
        )

    async def accept_plan(
        self, account_id: str, installments: int, every: str | None = None
    ) -> AcceptedPlan:
        journeys = await self.journeys()
        return await _answered(journeys.accept_plan(account_id, installments, every), WITHIN * 2)


async def _answered(call: Awaitable[T], within: float) -> T:
    """The journey's answer within `within` seconds. Its refusal (JourneyError) passes
    through; anything else (a timeout, an RPC error) is Unavailable: try again later."""
    try:
        return await asyncio.wait_for(call, within)
    except JourneyError:
        raise
    except Exception as exc:
        log.warning("Temporal did not answer: %s", type(exc).__name__)
        raise Unavailable(type(exc).__name__) from None
