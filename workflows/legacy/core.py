"""What every part of the journey workflow shares: the state and definition, waking on
signals, expressions, skips, keys, publishing to operators, continuing as new."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow

from rapport.contract.names import workflow_id
from rapport.language.expressions import ExpressionError, is_true
from rapport.language.models import JourneyDefinition
from rapport.language.selection import JourneyFacts, choose_segment, expression_context
from rapport.language.templates import TemplateBundle, bundle_of
from rapport.policy.caps import prune
from workflows.legacy import operator_view
from workflows.legacy.models import SkippedStep
from workflows.legacy.operator_view import Mode
from workflows.legacy.state import JourneyInput, JourneyState


class JourneyCore:
    request: JourneyInput
    state: JourneyState

    def __init__(self, request: JourneyInput) -> None:
        self.request = request
        self.state = request.continued or JourneyState(
            account=request.account,
            balance=request.account.balance,
            started_at=workflow.now(),
        )
        self._changes = 0  # bumped by every signal and update: waits wake on it
        self._operator_view = False  # search attributes and details (patched in, see run)
        self._publish_every_step = False  # the older behaviour (patched out, see run)
        self._published: dict[str, object] = {}
        self._template_subsets: dict[str, TemplateBundle] = {}
        self._mode: Mode = "running"
        self._next_action_at = workflow.now()

    @property
    def definition(self) -> JourneyDefinition:
        assert self.state.snapshot is not None
        return self.state.snapshot.definition

    @property
    def _timezone(self) -> str:
        return self.state.account.customer.timezone

    # --- waking ------------------------------------------------------------------------

    def _changed(self, event: str, **fields: object) -> None:
        self._changes += 1
        workflow.logger.info(
            f"{event} {fields or ''}".strip(), extra={**self._log_fields(), **fields}
        )

    async def _until_change(self, within: timedelta) -> None:
        """Sleep until `within` passes or any signal or update arrives."""
        seen = self._changes
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: self._changes != seen, timeout=within)

    # --- the definition's expressions ----------------------------------------------------

    def _holds(self, expression: str | None, where: str) -> bool:
        """Evaluate a `when`; a run-time error is recorded and counts as false."""
        try:
            return is_true(expression, self._context())
        except ExpressionError as exc:
            self.state.errors.append(f"{where}: {exc}")
            workflow.logger.warning("expression failed", extra={"where": where, "error": str(exc)})
            return False

    def _context(self) -> dict[str, object]:
        s = self.state
        facts = JourneyFacts(
            messages_sent=len(s.sent),
            days_elapsed=(workflow.now() - s.started_at).days,
            engaged=s.engaged,
            last_channel=s.sent[-1].channel if s.sent else None,
            step=s.step,
        )
        return expression_context(s.account, s.balance, s.segment, facts)

    def _choose_segment(self) -> None:
        segment, errors = choose_segment(self.definition, self._context())
        self.state.segment = segment
        self.state.errors.extend(errors)

    # --- records -----------------------------------------------------------------------

    def _skip(self, step_id: str, channel: str | None, reason: str, detail: str = "") -> None:
        self.state.skipped.append(
            SkippedStep(
                step=step_id, channel=channel, at=workflow.now(), reason=reason, detail=detail
            )
        )
        workflow.logger.info(
            f"skipped {step_id} on {channel}: {reason}",
            extra={**self._log_fields(), "channel": channel, "reason": reason},
        )

    def _key(self, name: str, occurrence: int, channel: str) -> str:
        """Idempotency key from business identity: account, journey version, step, occurrence."""
        d = self.definition
        return (
            f"{workflow_id(self.state.account.account_id)}/{d.id}/v{d.version}/{name}/"
            f"{occurrence}/{channel}"
        )

    def _templates_for(self, file: str) -> TemplateBundle:
        """The template and what it includes: computed once per template and run."""
        if file not in self._template_subsets:
            assert self.state.snapshot is not None
            bundle = bundle_of(self.state.snapshot.templates)
            self._template_subsets[file] = bundle.subset(file)
        return self._template_subsets[file]

    def _log_fields(self) -> dict[str, object]:
        s = self.state
        return {
            "account_id": s.account.account_id,
            "journey": self.definition.id if s.snapshot else None,
            "step": s.step,
            "segment": s.segment,
        }

    # --- what operators see ----------------------------------------------------------------

    def _publish(self) -> None:
        """Keep search attributes and the workflow's current details up to date.

        Called where the journey comes to rest (a wait, a deferral, a hold, the end),
        not at every step: steps between two rests take milliseconds, and each upsert
        costs the server a visibility write."""
        if not self._operator_view or self.state.snapshot is None:
            return
        now = workflow.now()
        values: dict[Any, Any] = operator_view.search_attributes(
            self.state, self.definition, self._mode, now
        )
        changed = [
            key.value_set(value)
            for key, value in values.items()
            if self._published.get(key.name) != value
        ]
        if changed:
            workflow.upsert_search_attributes(changed)
            self._published.update({key.name: value for key, value in values.items()})
        workflow.set_current_details(
            operator_view.details(
                self.state, self.definition, self._mode, self._next_action_at, now
            )
        )

    # --- a long journey ------------------------------------------------------------------

    def _history_is_long(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self.request.history_limit
        )

    async def _continue_as_new(self) -> None:
        await workflow.wait_condition(workflow.all_handlers_finished)
        s = self.state
        s.ledger = prune(
            s.ledger, workflow.now(), self.definition.policy.caps, self.definition.policy.min_gap
        )
        workflow.logger.info("continuing as new", extra=self._log_fields())
        workflow.continue_as_new(self.request.model_copy(update={"continued": s}))
