"""A small Python client for billing systems: start journeys, report payments, send
events, accept plans, read status. Other languages use their Temporal SDK with the
JSON Schemas in `schemas/` (see docs/billing-integration.md)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError
from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.common import (
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.service import RPCError, RPCStatusCode

from rapport.contract import search_attributes
from rapport.contract import search_attributes as sa
from rapport.contract.journey import (
    JourneyResult,
    JourneyStart,
    JourneyStatus,
    fingerprint,
    summary,
)
from rapport.contract.names import ACCEPT_PLAN_UPDATE, STATUS_QUERY, WORKFLOW_TYPE, workflow_id
from rapport.contract.payloads import AcceptPlan, AccountUpdated, PaymentReceived
from rapport.contract.records import AcceptedPlan, JourneyPin
from rapport.contract.signals import SIGNALS
from rapport.language.account import Account
from rapport.money import too_precise
from rapport.payments.desk import MoneyDesk, Told
from rapport.runtime.settings import Settings, load_settings
from rapport.store.database import Store, StoreUnavailable
from rapport.store.payments import MoneyEvent, Payment, PaymentConflict, PaymentLedger, Source

QUERY_TIMEOUT = timedelta(seconds=5)

STORE_UNAVAILABLE = "StoreUnavailable"  # the failure type activities give a store error


def _one_line(cause: BaseException | None) -> str:
    """Why, in one line: the failure's message and its causes', never a traceback."""
    parts: list[str] = []
    while cause is not None and len(parts) < 3:
        message = str(getattr(cause, "message", "") or cause).strip()
        if message and message not in parts:
            parts.append(message.splitlines()[0][:300])
        cause = cause.__cause__
    return ": ".join(parts) or "(no reason recorded)"


class JourneyError(Exception):
    """A request the journey or the server refused, with a message for a person."""


class JourneyUnreachable(JourneyError):
    """Temporal or the journey did not answer (the server unreachable, the query timed
    out, no worker polls the journey's queue): not a refusal, try again later."""


class JourneyUnanswered(Exception):
    """The journey took a signal but its status did not show what it did with it yet."""


class Journeys:
    def __init__(self, client: Client, settings: Settings | None = None) -> None:
        self.client = client
        self.settings = settings or load_settings()
        self._ledger: PaymentLedger | None = None

    def ledger(self) -> PaymentLedger:
        """The store's payments ledger (opened on first use, schema checked)."""
        if self._ledger is None:
            store = Store(self.settings.store_url())
            store.ready()
            self._ledger = PaymentLedger(store)
        return self._ledger

    async def start(
        self,
        account: Account,
        journey: str | None = None,
        compare: bool = True,
        expected: JourneyPin | None = None,
    ) -> Started:
        """Start the account's journey; if one is running, return it unchanged and say
        whether it holds other data (`compare`: asks the journey; send `account_updated` to
        change it). An account that comes back after its journey closed starts a new one.
        `expected`: the journey (and version) the starter's own journeys folder chooses,
        named in the UI's summary (the worker still chooses: `journey` is what it is
        asked for)."""
        handle = await self.client.start_workflow(
            WORKFLOW_TYPE,
            JourneyStart(account=account, journey=journey),
            id=workflow_id(account.account_id),
            task_queue=self.settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            static_summary=summary(
                account,
                expected.id if expected else journey,
                expected.version if expected else None,
            ),
            result_type=JourneyResult,
            search_attributes=starting_attributes(account, journey),
            memo={"currency": account.currency},
        )
        response = getattr(handle, "_start_workflow_response", None)
        if response is None or getattr(response, "started", True):
            return Started(handle=handle, already_running=False, differs=False)
        if not compare:
            return Started(handle=handle, already_running=True, differs=False)
        running = await self.status(account.account_id)
        return Started(
            handle=handle,
            already_running=True,
            differs=running.account_fingerprint != fingerprint(account),
        )

    async def list(self, query: str, limit: int = 200) -> list[dict[str, Any]]:
        """Journeys matching a visibility query, with their search attributes."""
        rows = []
        async for execution in self.client.list_workflows(query, limit=limit):
            attributes = execution.typed_search_attributes
            row = {key.name: attributes.get(key) for key in search_attributes.ALL}
            row["status"] = execution.status.name.lower() if execution.status else "?"
            row["workflow_id"] = execution.id
            rows.append(row)
        return rows

    async def pay(
        self,
        account_id: str,
        amount: Decimal,
        payment_id: str | None = None,
        currency: str | None = None,
        source: Source = "billing",
        paid_at: datetime | None = None,
    ) -> Payment:
        """Report a payment that succeeded: into the payments ledger first, then to the
        account's running journey, which counts it once. With no journey running (or one
        that ended paid) it stays in the ledger, unapplied (`journey payments
        --unapplied`). The currency is the journey's unless given; the amount is checked
        against it; without a payment id one is made up (a repeated id changes nothing).
        `paid_at`: when the payer paid, passed on to the journey (`payment_received`'s
        `paid_at`; the ledger keeps when Rapport received it)."""
        currency = currency or await self._currency(account_id)
        problem = too_precise(amount, currency)
        if problem is not None:
            raise JourneyError(problem)
        try:
            payment = PaymentReceived(
                amount=amount,
                currency=currency,
                payment_id=payment_id or f"manual-{uuid.uuid4().hex}",
            )
        except ValidationError as exc:
            raise JourneyError(f"payment_received: {_problems(exc)}") from None
        event = MoneyEvent(
            payment.payment_id,
            account_id,
            payment.amount,
            currency,
            source,
            datetime.now(UTC),
            paid=True,
        )
        try:
            return await MoneyDesk(self.ledger(), self).take(event, paid_at)
        except (PaymentConflict, StoreUnavailable) as exc:
            raise JourneyError(str(exc)) from None
        except (JourneyUnanswered, RPCError) as exc:
            raise JourneyError(
                f"payment {payment.payment_id} is in the ledger; the journey did not answer "
                f"({type(exc).__name__}): report it again with the same payment id"
            ) from None

    async def _currency(self, account_id: str) -> str:
        """The currency of the account's latest journey, running or not."""
        handle = self.client.get_workflow_handle(workflow_id(account_id))
        try:
            description = await handle.describe()
        except RPCError as exc:
            error = _unknown(account_id, exc)
            raise type(error)(f"{error}: give the payment's currency") from None
        currency = str(await description.memo_value("currency", default=""))
        if not currency:
            raise JourneyError(f"the journey of {account_id} keeps no currency: give it")
        return currency

    async def tell_payment(
        self,
        account_id: str,
        signal: str,
        payload: dict[str, Any],
        payment_id: str,
        patience: float = 60.0,
    ) -> Told:
        """Signal the account's running journey (`payment_received` or `payment_reversed`)
        and read back whether it counted `payment_id` (the `status` query sees every
        signal sent before it; with no worker up it is asked again, for up to `patience`
        seconds: the signal is durable meanwhile). No journey running: `Told(None,
        False)`."""
        handle = self.client.get_workflow_handle(workflow_id(account_id))
        for _ in range(5):  # the run may continue as new between the look and the signal
            try:
                description = await handle.describe()
            except RPCError as exc:
                if exc.status == RPCStatusCode.NOT_FOUND:
                    return Told(None, False)
                raise
            if description.status != WorkflowExecutionStatus.RUNNING:
                return Told(None, False)
            run = self.client.get_workflow_handle(handle.id, run_id=description.run_id)
            try:
                await run.signal(signal, SIGNALS[signal].payload.model_validate(payload))
                break
            except RPCError as exc:
                if exc.status != RPCStatusCode.NOT_FOUND:  # gone: ended, or continued
                    raise
        else:
            raise JourneyUnanswered(f"the journey of {account_id} kept moving to new runs")
        deadline = asyncio.get_running_loop().time() + patience
        amount, pause = Decimal(str(payload.get("amount", 0))), 0.0
        while True:
            await asyncio.sleep(pause)
            status: JourneyStatus | None = None
            with contextlib.suppress(RPCError, WorkflowQueryFailedError):  # no worker up yet
                status = await run.query(
                    STATUS_QUERY, result_type=JourneyStatus, rpc_timeout=QUERY_TIMEOUT
                )
            taken = None if status is None else took(status, signal, payment_id, amount)
            if status is not None and taken is not None:
                return Told(f"{status.journey_id}/{description.run_id}", taken)
            if asyncio.get_running_loop().time() > deadline:
                raise JourneyUnanswered(
                    f"the journey of {account_id} shows no word of {payment_id} yet"
                )
            pause = min(2.0, pause * 2 or 0.1)

    async def update(self, account_id: str, fields: dict[str, Any]) -> AccountUpdated:
        """Tell the journey what changed at the billing system (`account_updated`)."""
        return await self.signal(account_id, "account_updated", fields)  # type: ignore[return-value]

    async def signal(self, account_id: str, event: str, fields: dict[str, Any]) -> BaseModel:
        """Send `event` with its payload, checked here first: what the journey would refuse
        is refused before it leaves."""
        if event not in SIGNALS:
            raise JourneyError(f"unknown event {event!r}; events: {', '.join(SIGNALS)}")
        try:
            payload = SIGNALS[event].payload.model_validate(fields)
        except ValidationError as exc:
            raise JourneyError(f"{event}: {_problems(exc)}") from None
        handle = await self._running(account_id)
        await handle.signal(event, payload)
        return payload

    async def accept_plan(
        self, account_id: str, installments: int, every: str | None = None
    ) -> AcceptedPlan:
        """Choose a plan for the customer: `installments`, due `every` (weekly, fortnightly,
        monthly; default the journey's first); the plan and its schedule, or JourneyError
        saying why it cannot be chosen."""
        handle = await self._running(account_id)
        try:
            request = AcceptPlan.model_validate({"installments": installments, "every": every})
        except ValidationError as exc:
            raise JourneyError(f"accept_plan: {_problems(exc)}") from None
        try:
            result: AcceptedPlan = await handle.execute_update(
                ACCEPT_PLAN_UPDATE, request, result_type=AcceptedPlan
            )
            return result
        except WorkflowUpdateFailedError as exc:
            cause = exc.cause
            raise JourneyError(str(cause.message if hasattr(cause, "message") else cause)) from None

    async def status(self, account_id: str) -> JourneyStatus:
        handle = self.client.get_workflow_handle(workflow_id(account_id))
        try:
            result: JourneyStatus = await handle.query(STATUS_QUERY, result_type=JourneyStatus)
        except RPCError as exc:
            raise _unknown(account_id, exc) from None
        except WorkflowQueryFailedError as exc:  # its workflow task fails: wedged
            raise JourneyUnreachable(
                f"the journey of account {account_id} did not answer: {exc.message}"
            ) from None
        if result.state in ("running", "deferred") and await self._store_failing(handle):
            result = result.model_copy(update={"state": "waiting_for_store"})
        return result

    async def ended_badly(self, account_id: str) -> tuple[str, str] | None:
        """(state, why in one line) when the account's latest journey failed, was
        terminated, timed out or was cancelled; None while it runs or after it completed.
        The failure is decoded with the keys this client holds (an encrypted message
        reads as such without them)."""
        handle = self.client.get_workflow_handle(workflow_id(account_id))
        try:
            description = await handle.describe()
        except RPCError as exc:
            raise _unknown(account_id, exc) from None
        state = description.status
        if state in (None, WorkflowExecutionStatus.RUNNING, WorkflowExecutionStatus.COMPLETED):
            return None
        if state == WorkflowExecutionStatus.CONTINUED_AS_NEW:
            return None  # the handle follows the newest run: not reached
        name = state.name.lower().replace("_", " ")
        try:
            await handle.result(follow_runs=False)
        except WorkflowFailureError as failure:
            return name, _one_line(failure.cause)
        except RPCError as exc:
            return name, f"(the reason could not be read: {exc.message})"
        return name, "(no reason recorded)"

    async def _store_failing(self, handle: WorkflowHandle[Any, Any]) -> bool:
        """Whether a send under way is being retried because the store does not answer."""
        try:
            description = await handle.describe()
        except RPCError:
            return False
        return any(
            pending.last_failure.application_failure_info.type == STORE_UNAVAILABLE
            for pending in description.raw_description.pending_activities
            if pending.HasField("last_failure")
        )

    async def running(self, account_id: str) -> WorkflowHandle[Any, Any]:
        """The account's running journey (JourneyError when there is none)."""
        return (await self._running_with(account_id))[0]

    async def _running(self, account_id: str) -> WorkflowHandle[Any, Any]:
        return await self.running(account_id)

    async def _running_with(
        self, account_id: str
    ) -> tuple[WorkflowHandle[Any, Any], WorkflowExecutionDescription]:
        """The running journey, and its description (no worker needed to answer)."""
        handle = self.client.get_workflow_handle(workflow_id(account_id))
        try:
            description = await handle.describe()
        except RPCError as exc:
            raise _unknown(account_id, exc) from None
        if description.status != WorkflowExecutionStatus.RUNNING:
            state = description.status.name.lower() if description.status else "closed"
            raise JourneyError(f"the journey of account {account_id} has ended ({state})")
        return handle, description


def took(status: JourneyStatus, signal: str, payment_id: str, amount: Decimal) -> bool | None:
    """Whether the journey counted what it was told of `payment_id`; None: no word yet."""
    if signal == "payment_received":
        record = next((p for p in status.payments if p.payment_id == payment_id), None)
        if record is not None:
            return record.counted
        if payment_id in status.duplicate_payments:
            return True  # counted long ago (its record is no longer among the recent)
    elif any(r.payment_id == payment_id and r.amount >= amount for r in status.reversals):
        return True
    refused = any(r.event == signal and payment_id in r.error for r in status.refused)
    return False if refused else None


@dataclass(frozen=True)
class Started:
    handle: WorkflowHandle[Any, Any]
    already_running: bool
    differs: bool
    """A journey was running for the account with other data: it keeps its own."""


def starting_attributes(account: Account, journey: str | None) -> TypedSearchAttributes:
    """Search attributes set by the start itself (no history event to write them)."""
    return sa.starting(account)


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(map(str, e['loc'])) or 'payload'}: {e['msg']}" for e in exc.errors()
    )


def list_query(
    journey: str | None = None,
    step: str | None = None,
    segment: str | None = None,
    outcome: str | None = None,
    balance_over: Decimal | None = None,
    running: bool = False,
) -> str:
    """A visibility query over our search attributes."""
    clauses = [f"WorkflowType = '{WORKFLOW_TYPE}'"]
    for name, value in (
        ("JourneyId", journey),
        ("JourneyStep", step),
        ("Segment", segment),
        ("Outcome", outcome),
    ):
        if value is not None:
            clauses.append(f"{name} = '{_quoted(value)}'")
    if balance_over is not None:
        clauses.append(f"BalanceDue > {float(balance_over)}")
    if running:
        clauses.append("ExecutionStatus = 'Running'")
    return " AND ".join(clauses)


def _quoted(value: str) -> str:
    if "'" in value or "\\" in value:
        raise JourneyError(f"{value!r}: quotes are not allowed in a filter")
    return value


def _unknown(account_id: str, exc: RPCError) -> JourneyError:
    """No journey for the account, or (any other status) none that answered."""
    if exc.status == RPCStatusCode.NOT_FOUND:
        return JourneyError(f"no journey for account {account_id}")
    return JourneyUnreachable(f"cannot reach the journey of account {account_id}: {exc.message}")
