"""Moving a running journey to another version of its definition (`migrate_to`,
`journey migrate`): where it goes in the new version, and, for a dry run, what it would
do next there.

A journey moves at a safe point, by continuing as new with its state and the new pin:
where it rests in a wait (a wait step, or an offer waiting for its answer: that same
step goes on in the new version, until the same moment), or between two steps (it goes
on after the step it last ran, as the new version orders its steps). Steps are matched
by id; a current step the new version does not have is a refusal, recorded in
`status.refused`, and the journey goes on where it was. Nothing is ever sent during a
move: a message under way (deferred to the contact window, held, being retried)
finishes first, and the journey moves after that step.

`place` and `preview` are pure functions of the state and the two definitions: the
workflow uses them at the safe point and to answer the `migration_preview` query.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from rapport.catalog import registry
from rapport.catalog.registry import DefinitionNotLoaded
from rapport.contract.activities import VersionRequest
from rapport.contract.journey import MigrationPreview, MigrationPreviewRequest, NextContact
from rapport.contract.plain import DEFINITION_NOT_LOADED
from rapport.contract.records import JourneyPin, MigrationRecord, PendingMigration, recent
from rapport.language.expressions import ExpressionError, is_true
from rapport.language.models import (
    BranchStep,
    EndStep,
    JourneyDefinition,
    OfferPlanStep,
    SendStep,
    Step,
    WaitStep,
    WaitUntilStep,
)
from rapport.language.selection import JourneyFacts, choose_segment, expression_context
from rapport.policy.schedule import earliest_send, spread_for
from rapport.policy.zone import ZoneRules
from workflows.core import LOCAL_TIMEOUT, ContinueAsNew
from workflows.delivery import JourneyDelivery
from workflows.operator_view import Mode, customer_time
from workflows.state import JourneyState

LOOK_AHEAD = 50  # steps a preview walks before it gives up looking for a contact


def place(
    old: JourneyDefinition, new: JourneyDefinition, state: JourneyState, in_wait: bool
) -> int | str:
    """The position in `new` where the journey goes on, or why it cannot move. `in_wait`:
    it rests in the wait of its current step (that step goes on in `new`); otherwise it
    moves after the step it last ran (or is finishing)."""
    where, step = new.step_index(), state.step
    if step is None:
        return 0  # nothing run yet: the new version from its start
    if step not in where:
        return (
            f"step {step} is not in {new.id} v{new.version} (its steps: "
            f"{', '.join(s.id for s in new.steps)})"
        )
    mine = old.steps[old.step_index()[step]] if step in old.step_index() else None
    theirs = new.steps[where[step]]
    if in_wait:
        if mine is not None and type(mine) is not type(theirs):
            return (
                f"step {step} is a {kind(theirs)} in {new.id} v{new.version}, not a "
                f"{kind(mine)}: it cannot go on there from its wait"
            )
        return where[step]
    if isinstance(mine, BranchStep) and state.position < len(old.steps):
        target = old.steps[state.position].id  # where the branch went in the old version
        if target not in where:
            return f"step {target} is not in {new.id} v{new.version}"
        return where[target]
    return where[step] + 1


def resting(state: JourneyState) -> bool:
    """In the wait of its current step (a wait, a wait_until, an offer's answer), even
    while a notice is sent or deferred during it: there the same step goes on in the new
    version (`JourneySteps._wait` moves it)."""
    return state.resume_at is not None and state.step is not None and state.step in state.entered


def kind(step: Step) -> str:
    return type(step).__name__.removesuffix("Step").lower()


def preview(
    state: JourneyState,
    old: JourneyDefinition,
    new: JourneyDefinition,
    to: JourneyPin,
    zone: ZoneRules | None,
    mode: Mode,
    next_action_at: datetime,
    now: datetime,
) -> MigrationPreview:
    """What a move to `new` would do now: where the journey would be, and its next
    contact there if nothing else happens first (no payment, reply or opt-out)."""
    s = state
    answer = MigrationPreview(
        journey_id=s.pin.id if s.pin else "",
        now=s.pin,
        step_now=s.step,
        to=to,
        step_then=None,
        moves="",
    )
    if s.pin is None or zone is None:
        return answer.model_copy(update={"refused": "the journey has not pinned its journey yet"})
    if s.stopped():
        return answer.model_copy(update={"refused": f"the journey has ended ({s.ending()})"})
    if to.id != s.pin.id:
        return answer.model_copy(
            update={"refused": f"it follows {s.pin.id}; {to.id} is another journey"}
        )
    in_wait = resting(s)
    placed = place(old, new, s, in_wait)
    if isinstance(placed, str):
        return answer.model_copy(update={"refused": placed})
    if in_wait:
        moves = (
            "now, where it rests in its wait"
            if mode == "waiting"
            else f"where it rests in its wait, once the message under way has gone (it is {mode})"
        )
    elif s.step:
        moves = f"when step {s.step} ends" + (f" (it is {mode})" if mode != "running" else "")
    else:
        moves = "at its first step"
    start = now
    if mode in ("deferred", "waiting_for_store"):
        start = max(now, next_action_at)  # the message under way goes first
    contact, then = next_contact(s, new, placed, start, zone, resume=in_wait)
    step_then = new.steps[placed].id if placed < len(new.steps) else None
    return answer.model_copy(
        update={"step_then": step_then, "moves": moves, "next_contact": contact, "then": then}
    )


def next_contact(
    state: JourneyState,
    definition: JourneyDefinition,
    position: int,
    at: datetime,
    zone: ZoneRules,
    resume: bool,
) -> tuple[NextContact | None, str]:
    """Walk `definition` from `position` at `at` to its first message that would go, under
    its policy and the journey's caps so far; None with the reason when there is none."""
    s = state
    if s.held():
        return None, "none while the journey is held (paused or disputed)"
    facts = _Facts(s, definition, at)
    policy = definition.policy
    for _ in range(LOOK_AHEAD):
        if position >= len(definition.steps):
            return None, "it ends (exhausted) before any other message"
        step = definition.steps[position]
        position += 1
        match step:
            case WaitStep():
                facts.at = s.resume_at if resume and s.resume_at else facts.at + step.wait
            case WaitUntilStep():  # nothing it waits for comes first: its timeout
                timeout = step.wait_until.timeout
                facts.at = s.resume_at if resume and s.resume_at else facts.at + timeout
            case BranchStep():
                for rule in step.branch:
                    if facts.holds(rule.when):
                        position = definition.step_index()[rule.goto]
                        break
            case SendStep() | OfferPlanStep():
                message = step.send if isinstance(step, SendStep) else step.offer_plan
                if isinstance(step, OfferPlanStep) and resume and s.plan_offer is not None:
                    facts.at = s.resume_at or facts.at  # the offer went: its answer's wait
                elif isinstance(step, SendStep) and not facts.holds(step.send.when):
                    pass
                else:
                    for channel in message.channels():
                        if s.unusable(channel) is None:
                            when = earliest_send(
                                facts.at,
                                channel,
                                policy,
                                zone,
                                s.ledger,
                                spread_for(s.account.account_id),
                            )
                            template = message.template_for(facts.segment)
                            return NextContact(
                                at=when,
                                local=customer_time(when, zone),
                                step=step.id,
                                channel=channel,
                                template=template,
                            ), ""
            case EndStep():
                return None, f"it ends ({step.end}) before any other message"
            case _:
                pass  # a handoff (no message to the customer), or a kind walked past
        resume = False
    return None, f"no message within the next {LOOK_AHEAD} steps"


class _Facts:
    """Expressions as the journey would evaluate them at a later moment."""

    def __init__(self, state: JourneyState, definition: JourneyDefinition, at: datetime) -> None:
        self.state, self.at, self.segment = state, at, state.segment
        self.segment, _ = choose_segment(definition, self.context())  # chosen again on moving

    def context(self) -> dict[str, object]:
        s = self.state
        facts = JourneyFacts(
            messages_sent=s.messages_sent,
            days_elapsed=(self.at - s.started_at).days,
            engaged=s.engaged,
            last_channel=s.sent[-1].channel if s.sent else None,
            step=s.step,
        )
        return expression_context(s.account, s.balance, self.segment, facts)

    def holds(self, expression: str | None) -> bool:
        try:
            return is_true(expression, self.context())
        except ExpressionError:
            return False


class JourneyMigration(JourneyDelivery):
    """`migrate_to`, its resolution and the move (the workflow's side)."""

    def _asked_migration(self) -> PendingMigration | None:
        state: JourneyState | None = getattr(self, "state", None)  # none: bad input
        return None if state is None else state.migrating

    async def _resolve_migration(self) -> None:
        """After the signal is taken (the state's effect records it): resolve the version
        it names by a local activity, and check the current step against it at once, so a
        refusal is in `status.refused` within the second. The move itself waits for a
        safe point."""
        s = self.state
        asked = s.migrating
        if asked is None or asked.pin is not None or s.pin is None:
            return
        try:
            pin: JourneyPin = await workflow.execute_local_activity(
                "resolve_version",
                VersionRequest(journey_id=s.pin.id, version=asked.version, hash=asked.hash),
                result_type=JourneyPin,
                start_to_close_timeout=LOCAL_TIMEOUT,
                retry_policy=RetryPolicy(maximum_attempts=5),
                summary=f"resolve {s.pin.id} v{asked.version} to move to",
            )
        except (ActivityError, ApplicationError) as error:  # a local one's comes bare
            cause = error.cause if isinstance(error, ActivityError) else error
            why = cause.message if isinstance(cause, ApplicationError) else str(cause)
            self._refuse_migration(asked.version, why or "the version could not be resolved")
            return
        if s.migrating is not asked:
            return  # another migrate_to came meanwhile: it stands instead
        problem = place(self.definition, registry.loaded(pin.hash).definition, s, resting(s))
        if isinstance(problem, str):
            self._refuse_migration(asked.version, problem)
            return
        s.migrating = asked.model_copy(update={"pin": pin})
        self._changed("migrate_to resolved", version=pin.version)  # wakes a rest

    def _refuse_migration(self, version: int, why: str) -> None:
        self.state.migrating = None
        self.state.refuse("migrate_to", workflow.now(), f"v{version}: {why}")
        workflow.logger.warning("migration refused", extra=self._log_fields())
        self._changed("migrate_to refused")

    def _move_if_asked(self, in_wait: bool) -> None:
        """At a safe point: move to the version asked for (continue as new with the new
        pin) or, if the step it is at is not there, refuse and go on."""
        s = self.state
        asked = s.migrating
        if asked is None or asked.pin is None or s.pin is None or s.stopped():
            return
        if not in_wait and s.step is not None and s.step in s.entered:
            return  # a step begun before continuing as new goes on first: no send is cut
        new = registry.loaded(asked.pin.hash).definition
        placed = place(self.definition, new, s, in_wait)
        if isinstance(placed, str):
            self._refuse_migration(asked.version, placed)
            return
        moved = MigrationRecord(
            from_version=s.pin.version,
            to_version=asked.pin.version,
            from_hash=s.pin.hash,
            to_hash=asked.pin.hash,
            step=s.step,
            at=workflow.now(),
            reason=asked.reason,
        )
        s.migrations = recent([*s.migrations, moved])
        s.pin, s.position, s.migrating, s.reselect = asked.pin, placed, None, True
        workflow.logger.info(
            "moving to another version", extra={**self._log_fields(), "version": s.pin.version}
        )
        self._publish()  # JourneyVersion, carried into the next run
        raise ContinueAsNew

    def _migration_preview(self, raw: Any) -> MigrationPreview:
        if self.problem is not None:
            raise ApplicationError(self.problem)
        request = MigrationPreviewRequest.model_validate(raw)
        try:
            target = registry.loaded(request.hash)
        except DefinitionNotLoaded as exc:  # fetched meanwhile: the command asks again
            raise ApplicationError(str(exc), type=DEFINITION_NOT_LOADED) from None
        return preview(
            self.state,
            self.definition,
            target.definition,
            target.pin,
            self.state.zone,
            self._mode,
            self._next_action_at,
            workflow.now(),
        )
