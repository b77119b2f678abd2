"""The SMS provider's webhooks, in the one web app: inbound replies and delivery callbacks.

- `POST /sms/inbound` (a Twilio-style inbound message webhook): an opt-out keyword
  (`rapport.compliance.keywords`: STOP, STOP ALL, OPT OUT, ... however typed) is
  committed to the store's consent record for that number first, then signalled as
  `opt_out` for SMS to every account the number belongs to; the answer is 2xx only
  after the commit, 503 when the store cannot take it (the provider retries). START
  or UNSTOP records an opt-in; HELP (or AYUDA) is answered with the creditor's contact
  line, in the customer's language (`rapport.channels.speech`); any
  other reply is `engagement {kind: replied}`. A provider's retry (the same
  MessageSid) is recorded once.
- `POST /sms/status?account=ID` (a delivery callback): `read` becomes
  `engagement {kind: opened}`; error 21610 (the number unsubscribed at the
  carrier) becomes an SMS opt-out, recorded the same way.

Requests must carry a valid `X-Twilio-Signature` (HMAC-SHA1 with the auth
token over the public URL and the sorted form fields); others get 403.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from xml.sax.saxutils import escape

from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from temporalio.service import RPCError, RPCStatusCode

from rapport.channels.addresses import BadAddress
from rapport.channels.sms import CREDITOR_HELP_CONTACT, DEFAULT_HELP_CONTACT, HELP_ANSWER
from rapport.channels.speech import say
from rapport.compliance.keywords import Word, said
from rapport.consent.book import Action, ConsentBook
from rapport.contract.names import workflow_id
from rapport.contract.payloads import Engagement, OptOut
from rapport.contract.replies import reply_meaning
from rapport.providers.twilio import UNSUBSCRIBED, signature_matches
from rapport.runtime.creditor import Creditor
from rapport.store.database import StoreUnavailable
from rapport.store.languages import latest_locale
from rapport.store.recipients import RecipientIndex
from rapport.web.journeys import JourneyLink, Unavailable

log = logging.getLogger(__name__)
SIGNAL_WITHIN = 3.0  # seconds per journey; SMS providers time a webhook out at about 15
RETRY_AFTER = (5.0, 30.0, 120.0)  # seconds: a signal Temporal did not take, again


class InboundSms:
    def __init__(
        self,
        journeys: JourneyLink,
        recipients: RecipientIndex,
        auth_token: str,
        public_url: str,
        consent: ConsentBook,
        help_contact: str = "",
        creditor: Creditor | None = None,
    ) -> None:
        self.journeys, self.recipients = journeys, recipients
        self.auth_token, self.public_url = auth_token, public_url.rstrip("/")
        self.consent, self.help_contact, self.creditor = consent, help_contact, creditor
        self.retry_after = RETRY_AFTER
        self._retrying: set[asyncio.Task[None]] = set()

    def app(self) -> Starlette:
        """These routes alone (the web app mounts them beside the rest)."""
        return Starlette(routes=self.routes())

    def routes(self) -> list[Route]:
        return [
            Route("/sms/inbound", self.inbound, methods=["POST"]),
            Route("/sms/status", self.status, methods=["POST"]),
        ]

    async def inbound(self, request: Request) -> Response:
        form = await self._verified_form(request)
        if form is None:
            return PlainTextResponse("bad signature", status_code=403)
        sender, words = form.get("From", ""), form.get("Body", "")
        word = said(words)
        means = word.means if word is not None else None
        if means in ("opt_out", "opt_in") and not await self._commit(
            means, sender, "sms_keyword", form.get("MessageSid")
        ):
            return _not_recorded()
        accounts = await asyncio.to_thread(self.recipients.accounts, sender)
        if word is not None and means == "help":
            return _twiml(await self._help(word, accounts))
        meaning = reply_meaning(words)  # what scenarios' sms_reply events do too
        if meaning.signal is not None:
            await self._signal(accounts, meaning.signal, meaning.payload)
        return _twiml()

    async def _help(self, word: Word, accounts: list[str]) -> str:
        """The creditor's contact line and how to stop, in the customer's language: the
        language HELP was asked in (AYUDA), else the account's, else English."""
        locale: str | None = word.language if word.language != "en" else None
        if locale is None:
            try:
                locale = await asyncio.to_thread(latest_locale, self.recipients.store, accounts)
            except (StoreUnavailable, SQLAlchemyError):
                locale = None  # English rather than no answer
        contact = self.help_contact
        if contact == DEFAULT_HELP_CONTACT and self.creditor is not None:
            # the creditor's own name and number, not "the number on your bill"
            region = (locale or "").replace("_", "-").partition("-")[2] or None
            phone = self.creditor.phone_for(region)
            contact = say(CREDITOR_HELP_CONTACT, locale).format(
                creditor=self.creditor.name, phone=phone
            )
        elif contact == DEFAULT_HELP_CONTACT:
            contact = say(contact, locale)
        return f"{contact} {say(HELP_ANSWER, locale)}".strip()

    async def status(self, request: Request) -> Response:
        form = await self._verified_form(request)
        if form is None:
            return PlainTextResponse("bad signature", status_code=403)
        accounts = [request.query_params["account"]] if "account" in request.query_params else []
        if form.get("ErrorCode") == UNSUBSCRIBED:
            sid = form.get("MessageSid")
            if not await self._commit(
                "opt_out", form.get("To", ""), "carrier", f"{sid}/{UNSUBSCRIBED}" if sid else None
            ):
                return _not_recorded()
            await self._signal(accounts, "opt_out", OptOut(channel="sms"))
        elif form.get("MessageStatus") == "read":
            await self._signal(accounts, "engagement", Engagement(kind="opened"))
        return PlainTextResponse("")

    async def _commit(
        self, action: Action, sender: str, source: str, reference: str | None
    ) -> bool:
        """Into the store before anything else; False when it cannot be kept (answered
        503, so the provider sends it again): never a 2xx for a "no" that was not kept."""
        try:
            await asyncio.to_thread(
                self.consent.record,
                action,
                "sms",
                source,
                address=sender,
                reference=reference or None,
            )
        except BadAddress:
            log.warning("sms %s from an unreadable number: not recorded", action)
        except StoreUnavailable as exc:
            log.error("sms %s not recorded, answering 503: %s", action, exc)
            return False
        return True

    async def _verified_form(self, request: Request) -> dict[str, str] | None:
        form = {key: str(value) for key, value in (await request.form()).items()}
        query = f"?{request.url.query}" if request.url.query else ""
        url = self.public_url + request.url.path + query
        given = request.headers.get("X-Twilio-Signature", "")
        return form if signature_matches(self.auth_token, url, form, given) else None

    async def _signal(self, accounts: list[str], name: str, payload: Any) -> None:
        """Tell running journeys at once. What was committed first (an opt-out) stops
        their next send anyway; a signal Temporal did not take is tried again in the
        background, so the provider is never kept waiting past its timeout."""
        for account_id in accounts:
            if not await self._try_signal(account_id, name, payload):
                retry = asyncio.create_task(self._retry_signal(account_id, name, payload))
                self._retrying.add(retry)
                retry.add_done_callback(self._retrying.discard)

    async def _try_signal(self, account_id: str, name: str, payload: Any) -> bool:
        """True once delivered, or when no journey of the account is running."""
        try:
            client = await self.journeys.client()
            handle = client.get_workflow_handle(workflow_id(account_id))
            await asyncio.wait_for(handle.signal(name, payload), SIGNAL_WITHIN)
            return True
        except Unavailable:
            log.info("signal %s to %s not delivered: Temporal unreachable", name, account_id)
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return True  # no journey running: the next one reads the store
            log.info("signal %s to %s not delivered: %s", name, account_id, exc.status.name)
        except TimeoutError:
            log.info("signal %s to %s not delivered: timed out", name, account_id)
        return False

    async def _retry_signal(self, account_id: str, name: str, payload: Any) -> None:
        for delay in self.retry_after:
            await asyncio.sleep(delay)
            if await self._try_signal(account_id, name, payload):
                return
        log.warning(
            "signal %s to %s given up; the journey's next send reads the store", name, account_id
        )


def _twiml(message: str | None = None) -> Response:
    body = f"<Message>{escape(message)}</Message>" if message else ""
    return Response(f"<Response>{body}</Response>", media_type="text/xml")


def _not_recorded() -> Response:
    return PlainTextResponse(
        "not recorded; try again", status_code=503, headers={"Retry-After": "30"}
    )
