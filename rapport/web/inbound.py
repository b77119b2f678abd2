"""Our small HTTP endpoint for the SMS provider: inbound replies and delivery callbacks.

- `POST /sms/inbound` (a Twilio-style inbound message webhook): a reply of STOP,
  UNSUBSCRIBE, CANCEL, END, QUIT, STOPALL, OPTOUT or REVOKE becomes an `opt_out`
  signal for SMS on every account that number belongs to; any other reply is
  `engagement {kind: replied}`.
- `POST /sms/status?account=ID` (a delivery callback): `read` becomes
  `engagement {kind: opened}`; error 21610 (the number unsubscribed at the
  carrier) becomes an SMS opt-out.

Requests must carry a valid `X-Twilio-Signature` (HMAC-SHA1 with the auth
token over the public URL and the sorted form fields); others get 403.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from temporalio.client import Client
from temporalio.service import RPCError

from rapport.compliance.keywords import is_opt_out
from rapport.contract.names import workflow_id
from rapport.contract.payloads import Engagement, OptOut
from rapport.providers.twilio import UNSUBSCRIBED, signature_matches
from rapport.store.recipients import RecipientIndex

log = logging.getLogger(__name__)


class InboundSms:
    def __init__(self, client: Client, recipients: RecipientIndex, auth_token: str,
                 public_url: str) -> None:
        self.client, self.recipients = client, recipients
        self.auth_token, self.public_url = auth_token, public_url.rstrip("/")

    def app(self) -> web.Application:
        app = web.Application()
        app.add_routes([web.post("/sms/inbound", self.inbound),
                        web.post("/sms/status", self.status),
                        web.get("/health", self.health)])
        return app

    async def health(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def inbound(self, request: web.Request) -> web.Response:
        form = await self._verified_form(request)
        sender, words = form.get("From", ""), form.get("Body", "")
        accounts = self.recipients.accounts(sender)
        if is_opt_out(words):
            await self._signal(accounts, "opt_out", OptOut(channel="sms"))
        else:
            await self._signal(accounts, "engagement", Engagement(kind="replied"))
        return web.Response(text="<Response/>", content_type="text/xml")

    async def status(self, request: web.Request) -> web.Response:
        form = await self._verified_form(request)
        accounts = [request.query["account"]] if "account" in request.query else []
        if form.get("ErrorCode") == UNSUBSCRIBED:
            await self._signal(accounts, "opt_out", OptOut(channel="sms"))
        elif form.get("MessageStatus") == "read":
            await self._signal(accounts, "engagement", Engagement(kind="opened"))
        return web.Response(text="")

    async def _verified_form(self, request: web.Request) -> dict[str, str]:
        form = {key: str(value) for key, value in (await request.post()).items()}
        url = self.public_url + request.path_qs
        given = request.headers.get("X-Twilio-Signature", "")
        if not signature_matches(self.auth_token, url, form, given):
            raise web.HTTPForbidden(text="bad signature")
        return form

    async def _signal(self, accounts: list[str], name: str, payload: Any) -> None:
        for account_id in accounts:
            handle = self.client.get_workflow_handle(workflow_id(account_id))
            try:
                await handle.signal(name, payload)
            except RPCError as exc:  # the journey has ended: nothing to stop
                log.info("signal %s to %s not delivered: %s", name, account_id, exc)


async def serve(app: web.Application, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
