"""The HTTP API's operations, without HTTP: each validates what it is given in the call
(so a bad request is refused at once, naming the field, never a later refusal in
`status`), then reaches the account's journey through the Python client, which encrypts
for the caller. Refusals are `Problem`s (`rapport.web.api` answers them as RFC 9457
documents)."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from temporalio.service import RPCError, RPCStatusCode

from rapport.catalog.library import JourneyNotFound, Library, Scan
from rapport.client.journeys import JourneyError, Journeys, JourneyUnreachable
from rapport.consent.book import ALL, Action, ConsentBook
from rapport.contract.journey import JourneyStart, JourneyStatus
from rapport.contract.names import ACCEPT_PLAN_UPDATE, workflow_id
from rapport.contract.payloads import AccountUpdated
from rapport.contract.records import AcceptedPlan
from rapport.contract.signals import SIGNALS
from rapport.intake.models import (
    EVENTS,
    MONEY_SIGNALS,
    STOP_EVENTS,
    EventAnswer,
    EventRequest,
    FieldProblem,
    PaymentAnswer,
    PaymentRequest,
    StartAnswer,
    UpdateAnswer,
)
from rapport.money import too_precise
from rapport.store.database import StoreUnavailable

log = logging.getLogger("rapport.intake")
WITHIN = 10.0  # seconds a call waits for Temporal before answering 503
SCAN_EVERY = 5.0  # seconds: how old the journeys folder's reading may be
M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
_EVENT = TypeAdapter(EventRequest)


class Problem(Exception):
    """A refusal: its HTTP status, what is wrong, and the field at fault."""

    def __init__(
        self,
        status: int,
        detail: str,
        field: str | None = None,
        payment_id: str | None = None,
        errors: list[FieldProblem] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.detail, self.field = status, detail, field
        self.payment_id, self.errors, self.retry_after = payment_id, errors or [], retry_after


def where(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(body)"


@functools.cache
def _adapter(model: Any) -> TypeAdapter[Any]:
    """One adapter per model (building one per request cost more than validating)."""
    return TypeAdapter(model)


_TAG_ERRORS = ("union_tag_not_found", "union_tag_invalid")


def validated(model: Any, data: Any, payment_id: str | None = None, tagged: bool = False) -> Any:
    """`data` as `model`; a 422 problem naming every field at fault (never the value).
    `tagged`: `model` is a union told apart by `type`, whose tag pydantic puts first in
    each error's path (`opt_out.channel`): a client sent `channel`, so the tag is left
    out, and a missing or bad tag is the field `type`."""
    try:
        return (model if isinstance(model, TypeAdapter) else _adapter(model)).validate_python(data)
    except ValidationError as exc:
        errors = [
            FieldProblem(field=_field(e["type"], e["loc"], tagged), detail=e["msg"])
            for e in exc.errors()[:20]
        ]
        first = errors[0]
        raise Problem(
            422, f"{first.field}: {first.detail}", first.field, payment_id, errors
        ) from None


def _field(kind: str, loc: tuple[int | str, ...], tagged: bool) -> str:
    if tagged and kind in _TAG_ERRORS:
        return "type"
    return where(loc[1:] if tagged and loc else loc)


def payment_id_of(data: Any) -> str | None:
    """The payment id a request carried, echoed in its refusal (when it is one)."""
    found = data.get("payment_id") if isinstance(data, dict) else None
    return found if isinstance(found, str) and 0 < len(found) <= 128 else None


class Intake:
    def __init__(
        self,
        journeys: Callable[[], Awaitable[Journeys]],
        consent: ConsentBook,
        journeys_dir: Path | None = None,
    ) -> None:
        self._journeys, self.consent = journeys, consent
        self.library = Library([journeys_dir]) if journeys_dir and journeys_dir.is_dir() else None
        self._scan: tuple[float, Scan] | None = None
        self._scanning = asyncio.Lock()

    async def start(self, data: Any) -> StartAnswer:
        """Start the account's journey, or return the running one (saying whether its data
        differs)."""
        request: JourneyStart = validated(JourneyStart, data)
        if self.library is not None:
            try:
                self.library.choose(request.journey, request.account, await self._journeys_now())
            except JourneyNotFound as exc:
                raise Problem(422, str(exc), "journey" if request.journey else "account") from None
        journeys = await self._client()
        started = await self._answered(journeys.start(request.account, request.journey))
        log.info(
            "journey %s",
            "already running" if started.already_running else "started",
            extra={"account_id": request.account.account_id},
        )
        return StartAnswer(
            account_id=request.account.account_id,
            workflow_id=started.handle.id,
            run_id=started.handle.result_run_id or "",
            started=not started.already_running,
            differs=started.differs,
        )

    async def warm(self) -> None:
        """What the first requests would otherwise wait for, done as `journey web`
        starts: the journeys folder read (a cold reading takes about 0.3 s) and Temporal
        connected. Without Temporal the app still starts (requests answer 503 until it
        is there)."""
        try:
            if self.library is not None:
                await self._journeys_now()
            await self._client()
        except Exception as exc:  # the first request meets it again, and answers it
            log.warning("intake not warmed up: %s", type(exc).__name__)

    async def _journeys_now(self) -> Scan:
        """The journeys folder as read at most SCAN_EVERY seconds ago (reading it hashes
        every file: not on every request). One reading at a time: the requests that
        arrive meanwhile wait for it (the first) or keep the last one (after). Every
        request of a burst read it itself: on a cold start twenty loaded and checked every
        journey at once, filling the thread pool the store's calls wait for (the API's
        p99 was seconds)."""
        assert self.library is not None
        fresh = self._scan is not None and time.monotonic() - self._scan[0] <= SCAN_EVERY
        if self._scan is not None and (fresh or self._scanning.locked()):
            return self._scan[1]
        async with self._scanning:
            if self._scan is None or time.monotonic() - self._scan[0] > SCAN_EVERY:
                began = time.monotonic()
                self._scan = (began, await asyncio.to_thread(self.library.scan))
            return self._scan[1]

    async def status(self, account_id: str) -> JourneyStatus:
        journeys = await self._client()
        return await self._answered(journeys.status(account_id), 404)

    async def update(self, account_id: str, data: Any) -> UpdateAnswer:
        update: AccountUpdated = validated(AccountUpdated, data)
        journeys = await self._client()
        await self._check_amounts(journeys, account_id, update)
        fields = update.model_dump(mode="json", exclude_none=True)
        await self._answered(journeys.signal(account_id, "account_updated", fields), 404)
        return UpdateAnswer(account_id=account_id, updated=sorted(fields))

    async def _check_amounts(
        self, journeys: Journeys, account_id: str, update: AccountUpdated
    ) -> None:
        """An update's amounts in the places of the account's currency (the journey would
        refuse more, later, in `status.refused`): for PATCH and the `account_updated`
        event alike."""
        if update.balance is None and update.minimum_due is None:
            return
        currency = await self._currency(journeys, account_id)
        for name, amount in (("balance", update.balance), ("minimum_due", update.minimum_due)):
            problem = too_precise(amount, currency) if amount is not None else None
            if problem is not None:
                raise Problem(422, f"{name}: {problem}", name)

    async def pay(self, account_id: str, data: Any) -> PaymentAnswer:
        """Into the payments ledger first (source `api`), then to the running journey,
        which counts it once; with no journey running it stays in the ledger, unapplied."""
        payment_id = payment_id_of(data)
        request: PaymentRequest = validated(PaymentRequest, data, payment_id)
        journeys = await self._client()
        currency = await self._currency(journeys, account_id, payment_id, required=False)
        if currency and request.currency != currency:
            raise Problem(
                422,
                f"currency: the payment is in {request.currency}; the account is in {currency}",
                "currency",
                payment_id,
            )
        problem = too_precise(request.amount, request.currency)
        if problem is not None:
            raise Problem(422, f"amount: {problem}", "amount", payment_id)
        try:
            payment = await self._answered(
                journeys.pay(
                    account_id,
                    request.amount,
                    request.payment_id,
                    request.currency,
                    "api",
                    request.paid_at,
                ),
                409,
            )
        except Problem as refused:
            refused.payment_id = payment_id
            if "did not answer" in refused.detail:  # in the ledger: the retry tells the journey
                refused.status, refused.retry_after = 503, 5
            raise
        return PaymentAnswer(
            account_id=account_id,
            payment_id=payment.payment_id,
            amount=payment.amount,
            currency=payment.currency,
            status=payment.status,
            applied=payment.applied,
        )

    async def event(self, account_id: str, data: Any, reference: str) -> EventAnswer:
        """Any event: a signal's payload with its `type`, or `accept_plan`. An opt-out or
        a cease is kept in the consent record first (it holds for later journeys too, and
        whether or not a journey runs); money goes to /payments."""
        kind = data.get("type") if isinstance(data, dict) else None
        if kind in MONEY_SIGNALS:
            raise Problem(
                422,
                f"type: {kind} is money: POST /v1/accounts/{{account_id}}/payments (the "
                "ledger takes it first)",
                "type",
                payment_id_of(data),
            )
        if isinstance(kind, str) and kind not in EVENTS:
            raise Problem(422, f"type: unknown event {kind!r}; events: {', '.join(EVENTS)}", "type")
        event = validated(EventRequest, data, tagged=True)
        fields = event.model_dump(mode="json", exclude={"type"}, exclude_unset=True)
        payload = None
        if event.type in SIGNALS:  # its own checks, without `type` (an empty update)
            payload = validated(SIGNALS[event.type].payload, fields)
        if isinstance(payload, AccountUpdated):  # what PATCH checks, checked here too
            await self._check_amounts(await self._client(), account_id, payload)
        recorded = False
        if event.type in STOP_EVENTS:
            recorded = await self._record_stop(account_id, event.type, fields, reference)
        journeys = await self._client()
        if event.type == ACCEPT_PLAN_UPDATE:
            plan = await self._plan_accepted(journeys, account_id, fields)
            return EventAnswer(
                account_id=account_id,
                type=event.type,
                consent_recorded=False,
                journey_running=True,
                plan=plan,
            )
        try:
            await self._answered(journeys.signal(account_id, event.type, fields), 404)
        except Problem as refused:
            if not recorded or refused.status not in (404, 409):  # none running, or ended
                raise
            return EventAnswer(
                account_id=account_id, type=event.type, consent_recorded=True, journey_running=False
            )
        return EventAnswer(
            account_id=account_id,
            type=event.type,
            consent_recorded=recorded,
            journey_running=True,
        )

    async def _plan_accepted(
        self, journeys: Journeys, account_id: str, fields: dict[str, Any]
    ) -> AcceptedPlan:
        """The plan, or the journey's refusal naming the field it is about: `every` when
        the frequency is not offered, else `installments` (the choice refused)."""
        every = fields.get("every")
        try:
            return await self._answered(
                journeys.accept_plan(account_id, fields["installments"], every)
            )
        except Problem as refused:
            if refused.field is None and refused.status == 422:
                offered = every is not None and refused.detail.startswith(f"{every} installments")
                refused.field = "every" if offered else "installments"
            raise

    async def _record_stop(
        self, account_id: str, kind: str, fields: dict[str, Any], reference: str
    ) -> bool:
        action: Action = "cease" if kind == "cease_communication" else "opt_out"
        channel = ALL if action == "cease" else str(fields["channel"])
        try:
            await asyncio.to_thread(
                self.consent.record,
                action,
                channel,
                "api",
                account_id=account_id,
                reference=reference,
            )
        except StoreUnavailable as exc:
            raise Problem(503, f"not recorded, try again: {exc}", retry_after=5) from None
        return True

    async def _currency(
        self,
        journeys: Journeys,
        account_id: str,
        payment_id: str | None = None,
        required: bool = True,
    ) -> str:
        """The currency of the account's latest journey (its memo: no worker needed);
        without one, a 404 (`required`) or ""."""
        handle = journeys.client.get_workflow_handle(workflow_id(account_id))
        try:
            description = await asyncio.wait_for(handle.describe(), WITHIN)
        except TimeoutError:
            raise Problem(503, "Temporal did not answer in time", retry_after=5) from None
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise Problem(503, "Temporal did not answer; try again", retry_after=5) from None
            if not required:
                return ""
            raise Problem(404, f"no journey for account {account_id}", None, payment_id) from None
        return str(await description.memo_value("currency", default=""))

    async def _client(self) -> Journeys:
        try:
            return await self._journeys()
        except Exception as exc:
            log.warning("Temporal unavailable: %s", type(exc).__name__)
            raise Problem(503, "Temporal cannot be reached; try again", retry_after=5) from None

    async def _answered(self, call: Awaitable[T], refused: int = 422) -> T:
        """The journey's answer within WITHIN seconds; its refusal is a problem (`refused`:
        its status; 404 only when the account has no journey), Temporal's or the journey's
        silence (unreachable, timed out, wedged) a 503 with Retry-After."""
        try:
            async with asyncio.timeout(WITHIN):  # (wait_for ran the call as a task of its own)
                return await call
        except JourneyUnreachable as exc:  # not a refusal: ask again later
            raise Problem(503, f"{exc}; try again", retry_after=5) from None
        except JourneyError as exc:
            message = str(exc)
            status = 404 if message.startswith("no journey") else refused
            if "has ended" in message:
                status = 409
            raise Problem(status, message) from None
        except TimeoutError:
            raise Problem(
                503, "the journey did not answer in time; try again", retry_after=5
            ) from None
