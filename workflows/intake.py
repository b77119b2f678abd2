"""What the journey does for billing systems in any language (docs/billing-integration.md),
behind one patch decided first thing in each run (`INTAKE_PATCH`; journeys begun before
it replay as they ran):

- it publishes its own search attributes (`AccountId` even when its input is refused,
  read from the workflow id, so such a journey is found by account), its memo and a
  summary at start: a start from another SDK or the `temporal` CLI sets none of them;
- a start or signal that reaches a production worker in plain text fails the journey at
  once, saying how to encrypt and how to delete what was sent (`rapport.contract.plain`);
  an opt-out or a cease in it is taken first, so the customer's word still holds;
- a signal of no known name is refused where `status.refused` shows it, instead of
  waiting unseen for a handler that never comes; an unknown query or update is answered
  with the names there are;
- the thank-you for a payment in full is transactional (`JourneyDelivery._transactional`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from temporalio import workflow
from temporalio.exceptions import ApplicationError

from rapport.contract import search_attributes as sa
from rapport.contract.journey import summary
from rapport.contract.names import ACCEPT_PLAN_UPDATE
from rapport.contract.payloads import AcceptPlan
from rapport.contract.plain import PLAIN_TEXT_REFUSED, PlainText, refusal
from rapport.contract.signals import SIGNALS
from workflows.core import problems_of
from workflows.steps import JourneySteps

INTAKE_PATCH = "intake"
STOPS = ("opt_out", "cease_communication")  # taken even from a refused plain-text signal
_ACCOUNT_IN_ID = re.compile(r"^delinquency-([A-Za-z0-9._-]{1,64})$")


class JourneyIntake(JourneySteps):
    def _begin_run(self, raw: Any) -> Any:
        """Decide the patch, once and before anything else in the run; what the start
        carried, unwrapped when it came in plain text (refused in `_introduce`)."""
        self._intake = workflow.patched(INTAKE_PATCH)
        self._plain_start = isinstance(raw, PlainText) and self._intake
        return raw.value if isinstance(raw, PlainText) else raw

    def _introduce(self) -> None:
        """Search attributes, memo and summary at start, for starters in any language
        (the Python client sets them with the start: then nothing is written). A refused
        input fails the journey here, after `AccountId` is set."""
        if not self._intake:
            return
        info = workflow.info()
        if self._plain_start:
            self.problem = refusal("start", info.workflow_id, info.run_id)
        request = None if self.problem else self.request
        if request is not None and request.carried is not None:
            return  # a continued run: its first run published all this
        values: dict[Any, Any] = {}
        match = _ACCOUNT_IN_ID.match(info.workflow_id)
        if request is not None:
            values = sa.at_start(request.account)
        elif match:
            values = {sa.ACCOUNT_ID: match.group(1)}
        changed = [k.value_set(v) for k, v in values.items() if self._published.get(k.name) != v]
        if changed:
            workflow.upsert_search_attributes(changed)
            self._published.update({k.name: v for k, v in values.items()})
        if request is not None and "currency" not in info.raw_memo:
            workflow.upsert_memo({"currency": request.account.currency})
        workflow.set_current_details(
            self.problem or summary(self.request.account, self.request.journey)
        )
        if self._plain_start:
            raise ApplicationError(self.problem or "", type=PLAIN_TEXT_REFUSED, non_retryable=True)

    async def _take(self, name: str, payload: Any) -> None:
        """A signal from the table; one in plain text on a production worker fails the
        journey (a stop in it is taken first and kept before the journey ends)."""
        if isinstance(payload, PlainText):
            if self._intake:
                if name in STOPS and self.problem is None:
                    self._receive(name, payload.value)
                    await self._kept()
                info = workflow.info()
                raise ApplicationError(
                    refusal(f"signal {name}", info.workflow_id, info.run_id),
                    type=PLAIN_TEXT_REFUSED,
                    non_retryable=True,
                )
            payload = payload.value
        self._receive(name, payload)

    async def _kept(self) -> None:
        """Whatever the journey is still writing to the store (its stops), done."""
        background = getattr(self, "_background_done", None)
        if background is not None:
            await background()

    def _unknown_signal(self, name: str) -> None:
        if not self._intake or self.problem is not None:
            return  # before the patch such a signal waited for a handler, unseen
        self.state.refuse(name, workflow.now(), f"unknown signal; signals: {', '.join(SIGNALS)}")
        workflow.logger.warning("unknown signal", extra={**self._log_fields(), "signal": name})

    def _plan_request(self, raw: Any) -> AcceptPlan | None:
        """`accept_plan`'s payload read here, so a bad one is refused in our words."""
        if raw is None or isinstance(raw, AcceptPlan):
            return raw
        if isinstance(raw, PlainText):
            if self._intake:
                info = workflow.info()
                raise ApplicationError(
                    refusal(f"update {ACCEPT_PLAN_UPDATE}", info.workflow_id, info.run_id),
                    type=PLAIN_TEXT_REFUSED,
                )
            raw = raw.value
        try:
            return AcceptPlan.model_validate(raw)
        except ValidationError as exc:
            raise ApplicationError(
                f"{ACCEPT_PLAN_UPDATE}: {problems_of(exc)}", type="InvalidUpdate"
            ) from None


def unknown(kind: str, name: str, names: Sequence[str]) -> ApplicationError:
    """What an unknown query or update is answered (readable without the codec)."""
    return ApplicationError(
        f"unknown {kind} {name!r}; this workflow has {', '.join(names)}", type="UnknownName"
    )
