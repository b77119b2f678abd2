"""`record_stop`: a stop that reached a journey, kept in the store before anything else.

The workflow runs it (a local activity, so it runs at once in the worker that took the
signal) the moment a cease, an opt-out, a payment that clears the balance, a pause or a
dispute reaches it, by any path: the CLI, the portal, an inbound SMS or a signal sent
with any Temporal SDK. Two records:

- the journey's stops (`rapport.store.stops`), which the send activity reads right
  before the provider call, so a send already under way does not go;
- a cease or an opt-out in the consent record (`rapport.consent`), which every journey
  of the account, the portal and `journey consent` read. This is the one place a
  signal's consent reaches the store: a billing system in any language can send the
  raw signal and the record is kept.

A store that cannot be reached raises; the workflow retries for as long as it takes
(its state already holds the stop, so nothing is sent meanwhile).
"""

from __future__ import annotations

import asyncio

from temporalio import activity

from rapport.consent.book import ConsentBook
from rapport.contract.activities import RecordStop
from rapport.store.stops import JourneyStop, JourneyStops

SOURCE = "journey_signal"


class StopActivities:
    def __init__(self, stops: JourneyStops | None, consent: ConsentBook | None) -> None:
        self.stops = stops
        self.consent = consent

    @activity.defn(name="record_stop")
    async def record_stop(self, request: RecordStop) -> None:
        await asyncio.to_thread(self._record, request)

    def _record(self, request: RecordStop) -> None:
        if self.consent is not None and request.consent is not None:
            self.consent.record(
                request.consent,
                request.channel,
                SOURCE,
                account_id=request.account_id,
                reference=request.reference,
                at=request.at,
            )
        if self.stops is not None:
            self.stops.record(
                JourneyStop(
                    instance=request.instance,
                    account_id=request.account_id,
                    seq=request.seq,
                    at=request.at,
                    paid=request.paid,
                    ceased=request.ceased,
                    held=request.held,
                    opted_out=tuple(request.opted_out),
                )
            )
