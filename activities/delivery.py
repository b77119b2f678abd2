"""`send_message` delivers one message: for a reminder it asks billing for the balance
(paid: nothing is sent), renders the template with the message's portal link (and an
email's one-click unsubscribe link), then takes its last look at the store in one
transaction (the journey's stops and the consent record: does the customer still want
it?) which also keeps the links by hash and logs the delivery for the caps of the
account's later journeys, and hands the message to the provider settings choose.
`create_handoff` asks a person to reach out. Secrets (the link key, provider
credentials) stay here, out of workflow history.

Failures are sorted here. Transient ones (a provider or billing down, a timeout, a
429) raise, so Temporal retries with backoff, honouring Retry-After, and no attempt
starts after `deliver_by`: the workflow then defers the message to the next opening.
Permanent ones (a bad number, a template that fails on this customer's data, any
error we did not expect) come back as `rejected` or `Undeliverable`: the journey
records a skip with the reason and goes on, instead of retrying all day every day.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from rapport.billing.sources import BalanceSource, BillingUnavailable, SignalledBalance
from rapport.catalog import registry
from rapport.channels import CHANNELS
from rapport.compliance.rules import OPT_OUT_REQUIRED
from rapport.consent.book import ConsentBook
from rapport.contract.activities import (
    DeliveryRecord,
    HandoffRequest,
    PaymentCheck,
    SendMessage,
    SendOutcome,
)
from rapport.language.context import AccountView, message_context
from rapport.language.templates import TemplateProblem
from rapport.providers.base import (
    Outgoing,
    PermanentFailure,
    Receipt,
    Router,
    TransientFailure,
)
from rapport.security.links import (
    LINK_LIFETIME,
    RESPOND,
    UNSUBSCRIBE,
    UNSUBSCRIBE_LIFETIME,
    LinkSigner,
    identity_check,
    portal_links,
)
from rapport.store.database import StoreUnavailable
from rapport.store.deliveries import DeliveryLog
from rapport.store.links import Link, LinkBook
from rapport.store.stops import JourneyStops

WINDOW_CLOSED = "WindowClosed"
STORE_DOWN = "StoreUnavailable"  # a store error: retried; `journey status` says so
UNDELIVERABLE = "Undeliverable"
DEFAULT_PORTAL = "http://localhost:8000"
# Seconds between heartbeats while a send waits (on billing, the store, the provider): a
# stop reaches a send in flight through the heartbeat's answer, so within about this
# (the worker's heartbeat throttle is set to match, see rapport.runtime.workers).
HEARTBEAT_EVERY = 0.2
TRANSIENT = (
    TransientFailure,
    BillingUnavailable,
    StoreUnavailable,
    SQLAlchemyError,  # the store failing after the consent check (a link, a definition)
    httpx.TransportError,
    OSError,
    TimeoutError,
    ConnectionError,
)
log = logging.getLogger("rapport.delivery")
_ATTEMPT_BEGAN: ContextVar[float] = ContextVar("attempt_began", default=0.0)  # monotonic
# the moment the store's delivery log counts this attempt's message (set in the last look)
_COUNTED: ContextVar[list[datetime] | None] = ContextVar("counted", default=None)


class DeliveryActivities:
    def __init__(
        self,
        providers: Router,
        signer: LinkSigner,
        billing: BalanceSource | None = None,
        consent: ConsentBook | None = None,
        deliveries: DeliveryLog | None = None,
        links: LinkBook | None = None,
        portal_url: str = DEFAULT_PORTAL,
        stops: JourneyStops | None = None,
    ) -> None:
        self.providers = providers
        self.signer = signer
        self.billing = billing or SignalledBalance()
        self.consent = consent
        self.deliveries = deliveries
        self.links, self.portal_url = links, portal_url.rstrip("/")
        self.stops = stops

    @activity.defn(name="send_message")
    async def send_message(self, request: SendMessage) -> SendOutcome:
        info = activity.info()
        if info.current_attempt_scheduled_time > request.deliver_by:
            raise ApplicationError(
                "the contact window closed before this attempt",
                type=WINDOW_CLOSED,
                non_retryable=True,
            )
        _ATTEMPT_BEGAN.set(time.monotonic())
        _COUNTED.set([])  # the last look's thread shares the list
        beat = asyncio.create_task(_heartbeat())  # alive, and told of a cancellation
        try:
            return await self._send(request, info.attempt)
        except TRANSIENT as failure:
            delay = getattr(failure, "retry_after", None)
            store = isinstance(failure, StoreUnavailable | SQLAlchemyError)
            raise ApplicationError(
                f"{type(failure).__name__}: {failure}",
                type=STORE_DOWN if store else "Transient",  # `journey status` tells them apart
                next_retry_delay=timedelta(seconds=delay) if delay else None,
            ) from None
        except (ApplicationError, asyncio.CancelledError):
            raise
        except Exception as exc:  # unexpected, and the same next time: skip, do not retry
            log.exception(
                "send failed", extra={"account_id": request.account_id, "key": request.key}
            )
            raise ApplicationError(
                f"{type(exc).__name__}: {exc}", type=UNDELIVERABLE, non_retryable=True
            ) from None
        finally:
            beat.cancel()

    async def _send(self, request: SendMessage, attempt: int) -> SendOutcome:
        again = attempt > 1 or request.attempted_before
        if request.reminder:
            balance = await self.billing.balance(
                PaymentCheck(
                    account_id=request.account_id,
                    known_balance=request.balance,
                    opening_balance=request.opening_balance or request.balance,
                    currency=str(request.fields.get("currency", "")),
                    base_balance=request.base_balance,
                    balance_since=request.balance_since,
                    at=activity.info().current_attempt_scheduled_time,
                )
            )
            if balance <= 0:  # paid: never remind someone who paid
                return SendOutcome(status="paid", balance=balance, maybe_delivered=again)
        try:  # one trip to a thread: render, the last look (links kept, delivery logged)
            ready = await self._looked(request, again)
        except TemplateProblem as problem:
            return SendOutcome(status="rejected", detail=f"template_error: {problem}")
        except _CalledOff as stop:
            return stop.outcome
        if isinstance(ready, SendOutcome):
            return ready  # the customer said no, or the journey was told to stop
        provider = self.providers.for_channel(request.channel)
        activity.heartbeat()  # the cancellation of a stop that raced the last look
        await asyncio.sleep(0)  # ... lands here, if it has arrived
        try:
            receipt = await _answered(provider.deliver(ready))  # the window that remains
        except PermanentFailure as failure:
            if not again:  # counted in the last look, never delivered: not a message
                await self._forget_delivery(request)
            return SendOutcome(status="rejected", detail=failure.reason)
        return SendOutcome(
            status=receipt,
            possible_duplicate=again and not provider.idempotent,
            delivered_at=_sent_at(),
        )

    async def _looked(self, request: SendMessage, again: bool) -> Outgoing | SendOutcome:
        """`_ready` in a thread. A stop that cancels the send while the thread runs means
        no provider call, but the thread still commits: a delivery it logged is taken
        back (it never went), unless an earlier attempt may have sent the message."""
        look = asyncio.ensure_future(asyncio.to_thread(self._ready, request))
        try:
            return await asyncio.shield(look)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                if isinstance(await look, Outgoing) and not again:
                    await self._forget_delivery(request)
            raise

    def _ready(self, request: SendMessage) -> Outgoing | SendOutcome:
        """The message rendered (no store I/O), then the last look right before the
        provider call, in one transaction: the message's links kept and its delivery
        logged (for the caps of the account's later journeys), then the stops this
        journey recorded (`record_stop`, however they reached it) and the consent record
        (the last line of defence, also against a journey that decided before a STOP
        arrived) read, as late as the transaction allows. A stop found rolls it all
        back: a message that does not go keeps no link and counts for no cap. A stop
        recorded before this read means no provider call. A store that cannot answer
        raises (StoreUnavailable, SQLAlchemyError): retried, never sent unchecked."""
        kept: list[tuple[str, Link]] = []
        item = self._render(request, kept)
        with self._last_look() as connection:
            if connection is not None:  # first: the look itself as late as it can be
                self._keep(request, kept, connection)
            stop = self._stopped_for(request, connection)
            if stop is not None:
                raise _CalledOff(stop)  # rolls the links and the delivery back
            if connection is None:  # books in stores of their own: one after the other
                self._keep(request, kept, None)
        return item

    @contextmanager
    def _last_look(self) -> Iterator[Connection | None]:
        """One transaction for the last look when the books share a store (as the worker
        builds them), else each book's own."""
        stores = {id(b.store): b.store for b in self._books() if b is not None}
        if len(stores) != 1:
            yield None
            return
        (store,) = stores.values()
        with store.begin() as connection:
            yield connection

    def _books(self) -> tuple[LinkBook | DeliveryLog | JourneyStops | ConsentBook | None, ...]:
        return (self.links, self.deliveries, self.stops, self.consent)

    def _keep(
        self, request: SendMessage, kept: list[tuple[str, Link]], connection: Connection | None
    ) -> None:
        now = datetime.now(UTC)
        if self.links is not None:
            for token, link in kept:
                self.links.keep(token, link, now, connection)
        if self.deliveries is not None:
            # by the server's clock as the last look commits (not when the attempt was
            # queued, which a busy worker may have reached minutes later): the send follows
            at = self.deliveries.record(
                request.key, request.account_id, request.channel, _delivered_at(), connection
            )
            counted = _COUNTED.get()
            if counted is not None:
                counted.append(at)

    def _stopped_for(
        self, request: SendMessage, connection: Connection | None = None
    ) -> SendOutcome | None:
        if self.stops is not None and request.instance is not None:
            stop = self.stops.current(request.instance, connection)
            reason = stop.reason(request.channel, request.reminder) if stop else None
            if reason is not None:
                return SendOutcome(status="called_off", detail=reason)
        if self.consent is not None:
            refusal = self.consent.refusal(
                request.account_id, request.channel, request.to or None, connection
            )
            if refusal is not None:
                return SendOutcome(status="suppressed", detail=refusal.detail())
        return None

    async def _forget_delivery(self, request: SendMessage) -> None:
        """Best effort: a count left behind makes a later journey's caps stricter, never
        looser."""
        if self.deliveries is None:
            return
        try:
            await asyncio.to_thread(self.deliveries.forget, request.key)
        except SQLAlchemyError as exc:
            log.warning(
                "a refused message still counts for later caps: %s",
                type(exc).__name__,
                extra={"account_id": request.account_id, "key": request.key},
            )

    @activity.defn(name="record_delivery")
    async def record_delivery(self, request: DeliveryRecord) -> None:
        """A delivery the send could not log (sends before the delivery moved into the last
        look logged after the provider call): retried by Temporal until the store answers
        (idempotent on the message key)."""
        if self.deliveries is None:
            return
        try:
            await asyncio.to_thread(
                self.deliveries.record, request.key, request.account_id, request.channel, request.at
            )
        except SQLAlchemyError as exc:
            raise ApplicationError(f"store: {type(exc).__name__}", type="Transient") from None

    def _render(self, request: SendMessage, kept: list[tuple[str, Link]]) -> Outgoing:
        """The message, from the pinned templates; the links it carries go into `kept`,
        kept in the store only if it goes."""
        journey = registry.pinned(request.journey.hash)
        links = self._links(request, kept)
        account = AccountView.model_validate({**request.fields, "account_id": request.account_id})
        facts = request.facts.model_dump() if request.facts is not None else None
        context = message_context(
            account,
            request.balance,
            request.channel,
            links,
            request.plan,
            request.payment,
            facts,
            request.schedule,
        )
        rendered = journey.templates.render(
            request.template, request.channel, context, account.customer.locale
        )  # the customer's language's version of the template, if it has one
        if (
            request.channel in OPT_OUT_REQUIRED
            and CHANNELS[request.channel].opt_out_text(links, account.customer.locale)
            not in rendered.body
        ):
            raise TemplateProblem(
                request.template, 1, "the message does not say how to opt out; it is not sent"
            )
        return Outgoing(
            key=request.key,
            kind="message",
            channel=request.channel,
            account_id=request.account_id,
            to=request.to,
            at=activity.info().current_attempt_scheduled_time.isoformat(),
            subject=rendered.subject,
            body=rendered.body,
            step=request.step,
            template=request.template,
            unsubscribe_url=self._unsubscribe(request, kept),
        )

    def _links(self, request: SendMessage, kept: list[tuple[str, Link]]) -> dict[str, str]:
        """The message's one portal link (its token kept in the store by hash, with the
        identity check's answer hashed too), as the template's `links`."""
        token = self.signer.token(RESPOND, request.key)
        if self.links is not None:
            now = datetime.now(UTC)
            customer = request.fields.get("customer", {})
            check = identity_check(
                request.channel, request.to, customer.get("phone"), customer.get("email")
            )
            locale = customer.get("locale")
            link = Link(
                account_id=request.account_id,
                journey_id=request.journey.id,
                purpose=RESPOND,
                channel=request.channel,
                address=request.to,
                expires_at=now + LINK_LIFETIME,
                check_kind=check[0] if check else None,
                check_hash=self.signer.check_hash(*check) if check else None,
                locale=locale if isinstance(locale, str) else None,
            )
            kept.append((token, link))
        return portal_links(self.portal_url, token, request.channel)

    def _unsubscribe(self, request: SendMessage, kept: list[tuple[str, Link]]) -> str | None:
        """An email's one-click unsubscribe link, kept in the store (by hash) so the web
        app can honour it for as long as a mail client may offer it."""
        if request.channel != "email" or self.links is None or not self.portal_url:
            return None
        token = self.signer.token(UNSUBSCRIBE, request.key)
        now = datetime.now(UTC)
        link = Link(
            account_id=request.account_id,
            journey_id=request.journey.id,
            purpose=UNSUBSCRIBE,
            channel="email",
            address=request.to,
            expires_at=now + UNSUBSCRIBE_LIFETIME,
        )
        kept.append((token, link))
        return f"{self.portal_url}/u/{token}"

    @activity.defn(name="create_handoff")
    async def create_handoff(self, request: HandoffRequest) -> SendOutcome:
        item = Outgoing(
            key=request.key,
            kind="handoff",
            channel="handoff",
            account_id=request.account_id,
            to=request.queue,
            at=request.at.isoformat(),
            subject=f"Reach out to {request.account_id}",
            body=request.summary,
            step=request.queue,
            template="",
        )
        beat = asyncio.create_task(_heartbeat())
        try:
            receipt = await self.providers.for_channel("handoff").deliver(item)
        except PermanentFailure as failure:
            return SendOutcome(status="rejected", detail=failure.reason)
        except TransientFailure as failure:
            raise ApplicationError(str(failure), type="Transient") from None
        finally:
            beat.cancel()
        return SendOutcome(status=receipt)


class _CalledOff(Exception):  # not an error: the last look's answer
    """The last look found a stop: its transaction rolls back."""

    def __init__(self, outcome: SendOutcome) -> None:
        super().__init__(outcome.detail)
        self.outcome = outcome


async def _answered(call: Coroutine[Any, Any, Receipt]) -> Receipt:
    """The provider's answer, even when a stop calls the send off while the request is
    out: it cannot be taken back, and cancelling it would only lose the answer (the
    journey would count the message as not sent and, after a pause or a dispute, send it
    again). The attempt completes with the receipt; the workflow records what went."""
    request = asyncio.ensure_future(call)
    try:
        return await asyncio.shield(request)
    except asyncio.CancelledError:
        log.info("a stop arrived while the provider had the message: it went")
        return await request  # a second cancellation (a worker shutting down) lands here


def _sent_at() -> datetime:
    """When the message went, as the journey records it: the moment the store's delivery
    log counts it (so this journey's caps and the account's later journeys' count the
    same instant), else now."""
    counted = _COUNTED.get()
    return counted[-1] if counted else _delivered_at()


def _delivered_at() -> datetime:
    """Now by the server's clock (the attempt's start and the time since; the time-skipping
    server's included): after the provider took the message, when it went (the journey's
    caps count that), and as the last look commits, for the store's delivery log."""
    info = activity.info()
    return info.started_time + timedelta(seconds=time.monotonic() - _ATTEMPT_BEGAN.get())


async def _heartbeat() -> None:
    """Tell Temporal this attempt is alive (a dead worker's attempt is retried within the
    heartbeat timeout), and hear of a cancellation. Not at once: most sends finish
    within the first interval and need no heartbeat (each is a call to the server)."""
    while True:
        await asyncio.sleep(HEARTBEAT_EVERY)
        activity.heartbeat()
