"""SMS through an HTTP API shaped like Twilio's Messages resource.

`POST {base}/2010-04-01/Accounts/{sid}/Messages.json` with basic auth and the
form fields To, From, Body (and StatusCallback when our inbound endpoint is
public). Twilio and the many providers that copy it have no idempotency key:
a request whose answer is lost (a read timeout, a reset connection after the
request went out) may have been delivered, and its retry may deliver twice.
Connection errors before the request is sent are safe to retry.

Each delivered message records who it went to in a `RecipientIndex`, so an
inbound reply from that number can be traced back to its accounts. Inbound
requests (replies, delivery callbacks) carry `X-Twilio-Signature`: HMAC-SHA1 with
the auth token over the public URL and the sorted form fields.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

import httpx

from rapport.providers.base import Outgoing, PermanentFailure, Receipt, TransientFailure
from rapport.providers.http import raise_for_delivery
from rapport.security.compare import same
from rapport.store.recipients import RecipientIndex

NEEDS = ("twilio_account_sid", "twilio_auth_token", "twilio_from")
SERVES = ("sms",)
UNSUBSCRIBED = "21610"  # the error code of a number that unsubscribed at the carrier


class TwilioSms:
    idempotent = False

    def __init__(
        self,
        base_url: str,
        account_sid: str,
        auth_token: str,
        sender: str,
        recipients: RecipientIndex,
        status_callback: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.auth = (account_sid, auth_token)
        self.sender, self.recipients = sender, recipients
        self.status_callback = status_callback
        self.client = httpx.AsyncClient(timeout=timeout)

    async def deliver(self, item: Outgoing) -> Receipt:
        form = {"To": item.to, "From": self.sender, "Body": item.body}
        if self.status_callback:
            form["StatusCallback"] = f"{self.status_callback}?account={item.account_id}"
        try:
            response = await self.client.post(self.url, data=form, auth=self.auth)
        except httpx.ConnectError as exc:
            raise TransientFailure(f"sms: cannot connect: {exc}") from None
        except httpx.HTTPError as exc:
            raise TransientFailure(f"sms: no answer, the message may have gone: {exc}") from None
        if response.status_code == 400:
            raise PermanentFailure(f"sms rejected: {_twilio_message(response)}")
        raise_for_delivery(response, "sms")
        self.recipients.remember(item.to, item.account_id)
        return "delivered"


def _twilio_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    return f"{body.get('code', '')} {body.get('message', '')}".strip()


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    payload = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    mac = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode()


def signature_matches(auth_token: str, url: str, params: Mapping[str, str], given: str) -> bool:
    return same(given, twilio_signature(auth_token, url, params))
