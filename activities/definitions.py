"""At a journey's start: which journey it follows, pinned, and the customer's zone rules.

Both are local activities: they run in the worker that runs the workflow task, their
inputs (the whole account, for the entry rules) stay out of history, and their small
results (a pin, a zone's offsets) are recorded there.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from rapport.catalog import registry
from rapport.catalog.archive import Archive
from rapport.catalog.library import Chooser, JourneyNotFound
from rapport.catalog.pinned import PinnedJourney
from rapport.catalog.versions import VersionNotFound, find_version
from rapport.contract.activities import Prepared, PrepareJourney, VersionRequest, ZoneRequest
from rapport.contract.records import JourneyPin
from rapport.language.sandbox import SANDBOX_VERSION
from rapport.policy.caps import Delivery, horizon
from rapport.policy.zone import ZoneRules, rules_for
from rapport.store.database import StoreUnavailable
from rapport.store.deliveries import DeliveryLog

STORE_DOWN = "StoreUnavailable"  # the failure type: the workflow shows "waiting for the store"


class DefinitionActivities:
    """Journeys come from a `Library` (the journeys folder, validated once per content):
    an edited file applies to journeys started after the edit; running ones keep theirs."""

    def __init__(
        self, library: Chooser, archive: Archive, deliveries: DeliveryLog | None = None
    ) -> None:
        self.library = library
        self.archive = archive
        self.deliveries = deliveries

    @activity.defn(name="prepare_journey")
    async def prepare_journey(self, request: PrepareJourney) -> Prepared:
        at = request.at or activity.info().current_attempt_scheduled_time
        try:  # one trip to a thread: choosing, archiving and the tz database may touch disk
            return await asyncio.to_thread(self._prepare, request, at)
        except JourneyNotFound as exc:
            raise ApplicationError(str(exc), type="JourneyNotFound", non_retryable=True) from None
        except (SQLAlchemyError, StoreUnavailable) as exc:  # the workflow waits for the store
            raise ApplicationError(
                f"the store did not answer: {type(exc).__name__}", type=STORE_DOWN
            ) from None

    def _prepare(self, request: PrepareJourney, at: datetime) -> Prepared:
        journey = self.library.choose(request.journey, request.account)
        self.archive.save(journey)  # any worker can find it by hash
        registry.remember(journey)
        return Prepared(
            pin=journey.pin,
            zone=rules_for(request.account.customer.timezone, at),
            recent=self._recent(request.account.account_id, journey, at),
            expressions=SANDBOX_VERSION,
        )

    def _recent(self, account_id: str, journey: PinnedJourney, at: datetime) -> list[Delivery]:
        """What earlier journeys of the account delivered within reach of this one's caps:
        read once here, recorded with the result, so replay sees the same counts."""
        if self.deliveries is None:
            return []
        policy = journey.definition.policy
        since = at - horizon(policy.caps, policy.min_gap)
        return [
            Delivery(at=d.at, channel=d.channel) for d in self.deliveries.since(account_id, since)
        ]

    @activity.defn(name="resolve_version")
    async def resolve_version(self, request: VersionRequest) -> JourneyPin:
        """The version a `migrate_to` asks for: found, checked (its own journey, valid
        where it comes from the folder) and kept in the archive for every worker."""
        try:
            return await asyncio.to_thread(self._resolve, request)
        except VersionNotFound as exc:
            raise ApplicationError(str(exc), type="VersionNotFound", non_retryable=True) from None
        except (SQLAlchemyError, StoreUnavailable) as exc:
            raise ApplicationError(
                f"the store did not answer: {type(exc).__name__}", type=STORE_DOWN
            ) from None

    def _resolve(self, request: VersionRequest) -> JourneyPin:
        scan = getattr(self.library, "scan", None)
        folder = scan().journeys if callable(scan) else []
        journey = find_version(
            request.journey_id, request.version, request.hash, folder, self.archive
        )
        self.archive.save(journey)
        registry.remember(journey)  # the workflow reads it next, in this worker
        return journey.pin

    @activity.defn(name="zone_rules")
    async def zone_rules(self, request: ZoneRequest) -> ZoneRules:
        return await asyncio.to_thread(rules_for, request.timezone, request.at)
