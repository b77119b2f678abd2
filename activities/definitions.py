"""At a journey's start: which journey it follows, pinned, the customer's zone rules, and
the rule packs the account is under (`account_rules`: its packs' rules, every zone it may
be in, the public holidays there, and what its earlier journeys delivered within the
packs' reach).

All are local activities: they run in the worker that runs the workflow task, their
inputs (the whole account, for the entry rules; a phone number) stay out of history, and
their small results (a pin, a zone's offsets, the rules and dates) are recorded there.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from rapport.catalog import registry
from rapport.catalog.archive import Archive
from rapport.catalog.library import Chooser, JourneyNotFound
from rapport.catalog.pinned import PinnedJourney
from rapport.catalog.versions import VersionNotFound, find_version
from rapport.compliance.calendars import holiday
from rapport.compliance.table import RuleBook
from rapport.compliance.zones import possible_zones
from rapport.contract.activities import (
    AccountRules,
    AccountRulesRequest,
    Prepared,
    PrepareJourney,
    VersionRequest,
    ZoneRequest,
)
from rapport.contract.records import JourneyPin
from rapport.language.problems import Problem
from rapport.language.sandbox import SANDBOX_VERSION
from rapport.policy.caps import Delivery, horizon
from rapport.policy.limits import Holiday, PackRule, PlaceRules, recorded_rules
from rapport.policy.zone import HORIZON, ZoneRules, rules_for
from rapport.store.database import StoreUnavailable
from rapport.store.deliveries import DeliveryLog

STORE_DOWN = "StoreUnavailable"  # the failure type: the workflow shows "waiting for the store"
PACKS_BROKEN = "RulePacksBroken"  # no message is decided until the packs read again
JOURNEY_NOT_FOUND = "JourneyNotFound"  # the start's journey is not there: the journey fails


class DefinitionActivities:
    """Journeys come from a `Library` (the journeys folder, validated once per content):
    an edited file applies to journeys started after the edit; running ones keep theirs."""

    def __init__(
        self,
        library: Chooser,
        archive: Archive,
        deliveries: DeliveryLog | None = None,
        rules: RuleBook | None = None,
        rules_problems: list[Problem] | None = None,
    ) -> None:
        self.library = library
        self.archive = archive
        self.deliveries = deliveries
        self.rules = rules or RuleBook()
        self.rules_problems = rules_problems or []

    @activity.defn(name="prepare_journey")
    async def prepare_journey(self, request: PrepareJourney) -> Prepared:
        at = request.at or activity.info().current_attempt_scheduled_time
        try:  # one trip to a thread: choosing, archiving and the tz database may touch disk
            return await asyncio.to_thread(self._prepare, request, at)
        except JourneyNotFound as exc:  # the refusal, without the account's data: details
            raise ApplicationError(
                str(exc), exc.refusal, type=JOURNEY_NOT_FOUND, non_retryable=True
            ) from None
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

    @activity.defn(name="account_rules")
    async def account_rules(self, request: AccountRulesRequest) -> AccountRules:
        if self.rules_problems:
            raise ApplicationError(
                f"the rule packs do not read: {self.rules_problems[0]}", type=PACKS_BROKEN
            )
        try:
            return await asyncio.to_thread(self._account_rules, request)
        except (SQLAlchemyError, StoreUnavailable) as exc:
            raise ApplicationError(
                f"the store did not answer: {type(exc).__name__}", type=STORE_DOWN
            ) from None

    def _account_rules(self, request: AccountRulesRequest) -> AccountRules:
        packs = self.rules.for_place(request.country, request.region)
        rules = recorded_rules(packs)
        zones = [
            rules_for(name, request.at)
            for name in possible_zones(
                request.timezone, request.country, request.region, request.phone
            )
        ]
        until = min(z.valid_until for z in zones)
        place = PlaceRules(
            packs=[p.pack for p in packs],
            rules=rules,
            zones=zones,
            holidays=_holidays(rules, request, until),
            valid_until=until,
        )
        reach = max(
            [r.cap.per for r in rules if r.cap] + [r.cooldown.per for r in rules if r.cooldown],
            default=timedelta(),
        )
        start = request.at - reach
        if self.deliveries is None or start >= request.since:
            return AccountRules(place=place)
        earlier = [
            Delivery(at=d.at, channel=d.channel)
            for d in self.deliveries.since(request.account_id, start)
            if d.at <= request.since
        ]
        return AccountRules(place=place, earlier=earlier, ledger_from=start)


def _holidays(
    rules: list[PackRule], request: AccountRulesRequest, until: datetime
) -> list[Holiday]:
    """The public holidays where the account is, from the day before `at` to `until`, when
    a pack closes on them (the `holidays` package, computed here: the journey keeps dates)."""
    if request.country is None or not any(r.closed and r.closed.holidays for r in rules):
        return []
    first = (request.at - timedelta(days=1)).date()
    days = min((until - request.at).days + 2, HORIZON.days + 2)
    found = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        name = holiday(day, request.country, request.region)
        if name is not None:
            found.append(Holiday(day=day, name=name))
    return found
