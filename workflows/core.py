"""What every part of the journey workflow shares: reading the input safely, the
pinned journey and the customer's zone, resting (where operators are told and long
histories continue as new), expressions, records and keys."""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import ValidationError
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from rapport.catalog import registry
from rapport.catalog.pinned import PinnedJourney
from rapport.contract.activities import RecordStop, ZoneRequest
from rapport.contract.names import workflow_id
from rapport.contract.plain import Unreadable
from rapport.contract.records import SkippedStep, recent, trusted
from rapport.language.expressions import ExpressionError, is_true
from rapport.language.models import JourneyDefinition
from rapport.language.sandbox import CONTEXT_FILTERS_SINCE
from rapport.language.selection import JourneyFacts, choose_segment, expression_context
from rapport.policy.caps import horizon
from rapport.policy.zone import ZoneRules
from workflows import operator_view
from workflows.operator_view import Mode
from workflows.state import JourneyInput, JourneyState

LOCAL_TIMEOUT = timedelta(seconds=30)
PUBLISH_REST = timedelta(minutes=1)  # a shorter rest is not worth a visibility write
ZONE_MARGIN = timedelta(days=35)  # read the zone's rules again this long before they end
# A stop is kept in the store for as long as the store takes to answer: the journey's
# state already holds it, so nothing is sent meanwhile.
STORE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
)
CARRIED_FROM = "_carried_from"  # the run that continued as new, written into `carried`
# The one patch of issue 21 (every change below to the commands a journey issues): stops
# kept in the store as they arrive, holds and opt-outs calling off a send in flight, a
# plan computed as its offer goes, bounded handoffs, a delivery log retried.
STOPS_PATCH = "stops"
# `migrate_to` is understood (workflows/migration.py); before it, an unknown signal.
MIGRATIONS_PATCH = "migrations"


class ContinueAsNew(Exception):
    """Raised where a journey rests with a long history: the run continues as new there."""


def problems_of(error: ValidationError) -> str:
    """Where and what, never the value itself (it may be a name or an address)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'payload'}: {e['msg']}" for e in error.errors()[:5]
    )[:1000]


class JourneyCore:
    request: JourneyInput
    state: JourneyState

    def __init__(self, raw: Any) -> None:
        # decided once, first thing in the run (before any local activity: lessons.md)
        self._migrations = workflow.patched(MIGRATIONS_PATCH)
        self.problem: str | None = None
        self._changes = 0  # bumped by every signal and update: rests wake on it
        self._mode: Mode = "running"
        self._next_action_at = workflow.now()
        self._pinned: PinnedJourney | None = None
        self._background: list[workflow.ActivityHandle[Any]] = []  # stores still writing
        info = workflow.info()
        self._published: dict[str, object] = {
            pair.key.name: pair.value for pair in info.typed_search_attributes
        }
        if isinstance(raw, Unreadable):
            self.problem = raw.problem
            return
        continued = _continued_by_us(raw, info)
        try:  # a continued run's input was checked when its journey started
            self.request = (
                trusted(JourneyInput, raw) if continued else JourneyInput.model_validate(raw)
            )
        except ValidationError as exc:
            self.problem = f"the journey's input is invalid: {problems_of(exc)}"
            return
        if self.request.carried is not None and not continued:
            self.problem = (
                "`carried` is set only by the engine when a journey continues as "
                "new; leave it out of a start"
            )
            return
        if self.request.carried is not None:
            self.state = trusted(JourneyState, self.request.carried)
        else:
            self.state = JourneyState(
                account=self.request.account,
                balance=self.request.account.balance,
                started_at=workflow.now(),
            )

    def _refuse_bad_input(self) -> None:
        if self.problem is not None:
            raise ApplicationError(self.problem, type="InvalidJourneyInput", non_retryable=True)

    # --- the pinned journey and the customer's zone ------------------------------------------

    @property
    def journey(self) -> PinnedJourney:
        """The definition this journey pinned, by content hash (never copied into history).
        A worker that does not have it yet fetches it off this thread and the workflow
        task is retried (`registry.loaded`)."""
        assert self.state.pin is not None
        if self._pinned is None or self._pinned.pin.hash != self.state.pin.hash:
            self._pinned = registry.loaded(self.state.pin.hash)
        return self._pinned

    @property
    def definition(self) -> JourneyDefinition:
        return self.journey.definition

    @property
    def zone(self) -> ZoneRules:
        assert self.state.zone is not None
        return self.state.zone

    async def _ensure_zone(self) -> None:
        """The customer's zone rules, read by a local activity and so recorded in history:
        a tzdata update on a worker cannot flip a decision on replay."""
        s, now = self.state, workflow.now()
        if (
            s.zone is not None
            and s.zone.name == s.account.customer.timezone
            and s.zone.covers(now, ZONE_MARGIN)
        ):
            return
        s.zone = await workflow.execute_local_activity(
            "zone_rules",
            ZoneRequest(timezone=s.account.customer.timezone, at=now),
            result_type=ZoneRules,
            start_to_close_timeout=LOCAL_TIMEOUT,
            retry_policy=RetryPolicy(maximum_attempts=5),
            summary=f"time-zone rules for {s.account.customer.timezone}",
        )

    # --- resting ---------------------------------------------------------------------------

    def _changed(self, event: str, **fields: object) -> None:
        self._changes += 1
        workflow.logger.info(event, extra={**self._log_fields(), **fields})

    async def _rest(
        self, mode: Mode, until: datetime | None, what: str | None = None, why: str | None = None
    ) -> None:
        """Wait until `until` (None: until something changes) or any signal or update.
        Operators see a rest of a minute or more (and `what` waits and `why`, on the
        timer); a long history continues as new here."""
        if self._history_is_long():
            raise ContinueAsNew
        now = workflow.now()
        self._mode, self._next_action_at = mode, until or now
        if until is None or until - now >= PUBLISH_REST:
            self._publish()
        seen = self._changes
        summary = None  # a rest without an end (a hold) has no timer
        if until is not None:
            summary = operator_view.rest_summary(
                mode, what or self.state.step, now, until, self.state.zone, why
            )
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self._changes != seen,
                timeout=None if until is None else until - now,
                timeout_summary=summary,
            )
        self._mode = "running"

    def _history_is_long(self) -> bool:
        """Time to continue as new, where the journey rests or between steps: a long history,
        or a new worker version is the target. Journeys are pinned to their worker's
        version; continuing as new moves them to the new one, carrying their state
        (docs/operating.md, "Upgrading"). Replays read the flag from history."""
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self.request.history_limit
            or info.is_target_worker_deployment_version_changed()
        )

    async def _continue_as_new(self) -> None:
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._background_done()
        workflow.logger.info("continuing as new", extra=self._log_fields())
        state = self.state.pruned()
        state.stops_first = True  # the next run asks for the stops patch first
        if self.state.pin is not None:  # the caps look back this far, no further
            since = workflow.now() - self._reach()
            state.ledger = [d for d in state.ledger if d.at > since]
            if state.ledger_from is not None:
                state.ledger_from = max(state.ledger_from, since)
        carried = state.model_dump(mode="json", exclude_defaults=True)
        carried[CARRIED_FROM] = workflow.info().run_id  # what the next run checks
        workflow.continue_as_new(
            self.request.model_copy(update={"carried": carried}),
            initial_versioning_behavior=workflow.ContinueAsNewVersioningBehavior.AUTO_UPGRADE,
        )

    def _reach(self) -> timedelta:
        """How far back a delivery can still matter to the journey's caps and gap."""
        policy = self.definition.policy
        return horizon(policy.caps, policy.min_gap)

    async def _background_done(self) -> None:
        """Wait for what the journey is still writing to the store (stops, a delivery)."""
        while self._background:
            await self._background.pop(0)

    # --- stops, kept in the store as they arrive ---------------------------------------

    def _decide_stops(self) -> None:
        """Ask for the stops patch first thing in the run, before any local activity: asked
        later, right after one (a zone read, a stop kept), a replay under load can meet
        the marker in another workflow task and fail (docs/architecture.md, "Patches").
        Every later ask gets this answer (Temporal memoises it). A first run always asked
        here (in `_prepare`); a continued run only since `stops_first` is carried, so runs
        continued before then replay as they ran: asked where the stops are first used."""
        if self.state.pin is None or self.state.stops_first:
            workflow.patched(STOPS_PATCH)

    def _instance(self) -> str:
        """The journey instance: its workflow id and when it started (kept across runs)."""
        s = self.state
        return f"{workflow_id(s.account.account_id)}/{s.started_at:%Y%m%dT%H%M%S.%fZ}"

    def _record_stop(
        self,
        consent: Literal["cease", "opt_out"] | None = None,
        channel: str = "all",
        why: str | None = None,
    ) -> None:
        """Keep the journey's stops in the store before anything else: the send activity
        reads them right before the provider call, and a cease or an opt-out goes into the
        consent record. A local activity, started here and awaited before the journey
        ends or continues; its retries outlast any store outage."""
        if not workflow.patched(STOPS_PATCH):
            return
        s = self.state
        s.stop_seq += 1
        self._background.append(
            workflow.start_local_activity(
                "record_stop",
                RecordStop(
                    instance=self._instance(),
                    account_id=s.account.account_id,
                    seq=s.stop_seq,
                    at=workflow.now(),
                    paid=s.paid,
                    ceased=s.ceased,
                    held=s.held(),
                    opted_out=list(s.suppressed),
                    consent=consent,
                    channel=channel,
                    reference=f"{self._instance()}/stop/{s.stop_seq}" if consent else None,
                ),
                start_to_close_timeout=LOCAL_TIMEOUT,
                retry_policy=STORE_RETRY,
                summary=operator_view.stop_summary(why, consent, channel),
            )
        )

    # --- the definition's expressions ----------------------------------------------------

    def _holds(self, expression: str | None, where: str) -> bool:
        """Evaluate a `when`; a run-time error is recorded and counts as false."""
        try:
            return is_true(expression, self._context(), self._legacy_expressions)
        except ExpressionError as exc:
            self.state.errors = [*self.state.errors, f"{where}: {exc}"][-50:]
            workflow.logger.warning(
                "expression failed", extra={**self._log_fields(), "where": where}
            )
            return False

    @property
    def _legacy_expressions(self) -> bool:
        """Conditions evaluate as the sandbox did when the journey began: a journey's
        branches replay the same whatever the sandbox learned since."""
        return self.state.expressions < CONTEXT_FILTERS_SINCE

    def _context(self) -> dict[str, object]:
        s = self.state
        return expression_context(s.account, s.balance, s.segment, self._facts())

    def _facts(self) -> JourneyFacts:
        """`journey.*`, for expressions and the templates that read them."""
        s = self.state
        amount_paid, payments = s.paid_so_far()
        return JourneyFacts(
            messages_sent=s.messages_sent,
            days_elapsed=(workflow.now() - s.started_at).days,
            engaged=s.engaged,
            last_channel=s.sent[-1].channel if s.sent else None,
            step=s.step,
            amount_paid=amount_paid,
            payments=payments,
            replied=s.replies > 0,
        )

    def _choose_segment(self) -> None:
        segment, errors = choose_segment(self.definition, self._context(), self._legacy_expressions)
        self.state.segment = segment
        self.state.errors = [*self.state.errors, *errors][-50:]
        self.state.reselect = False

    # --- records ---------------------------------------------------------------------------

    def _skip(
        self,
        step_id: str,
        channel: str | None,
        reason: str,
        detail: str = "",
        pack: str = "",
        rule: str = "",
    ) -> None:
        """Record a skip; `pack` and `rule`: the limit that decided it, if one did."""
        skipped = SkippedStep(
            step=step_id,
            channel=channel,
            at=workflow.now(),
            reason=reason,
            detail=detail,
            pack=pack,
            rule=rule,
        )
        self.state.skipped = recent([*self.state.skipped, skipped])
        workflow.logger.info(
            "skipped", extra={**self._log_fields(), "channel": channel, "reason": reason}
        )

    def _key(self, name: str, channel: str) -> str:
        """Idempotency key of a delivery, from business identity: the account, the journey
        (id, version and when this instance started), the step and its occurrence."""
        s, pin = self.state, self.state.pin
        assert pin is not None
        started = s.started_at.strftime("%Y%m%dT%H%M%S.%fZ")
        return (
            f"{workflow_id(s.account.account_id)}/{pin.id}/v{pin.version}/{started}/"
            f"{name}/{s.entered.get(name, s.occurrences.get(name, 1))}/{channel}"
        )

    def _log_fields(self) -> dict[str, object]:
        s = getattr(self, "state", None)
        if s is None:
            return {}
        return {
            "account_id": s.account.account_id,
            "journey": s.pin.id if s.pin else None,
            "step": s.step,
        }

    # --- what operators see ----------------------------------------------------------------

    def _publish(self) -> None:
        """Search attributes (only those that changed) and the current details."""
        now = workflow.now()
        values = operator_view.search_attributes(self.state, self._mode, now)
        changed = [
            key.value_set(value)
            for key, value in values.items()
            if self._published.get(key.name) != value
        ]
        if changed:
            workflow.upsert_search_attributes(changed)
            self._published.update({key.name: value for key, value in values.items()})
        if self.state.pin is not None and self.state.zone is not None:
            workflow.set_current_details(
                operator_view.details(
                    self.state, self.definition, self.zone, self._mode, self._next_action_at, now
                )
            )


def _continued_by_us(raw: Any, info: workflow.Info) -> bool:
    """Whether this run was continued as new by a journey: its carried state names the
    run it came from. Temporal sets `continued_run_id` on a cron's runs and on a
    workflow's retries too, whose input is the start's, so that alone proves nothing.
    (A run continued by the release before this marker carries none: trusted only when
    it is neither a cron run nor a retry; continue-as-new starts at attempt 1.)"""
    if info.continued_run_id is None:
        return False
    unmarked = info.cron_schedule is None and info.attempt == 1
    carried = raw.get("carried") if isinstance(raw, dict) else getattr(raw, "carried", None)
    if not isinstance(carried, dict):
        return unmarked
    marker = carried.get(CARRIED_FROM)
    if marker is None:
        return unmarked
    return bool(marker == info.continued_run_id)
