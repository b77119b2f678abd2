"""SMS through an HTTP API shaped like Twilio's Messages resource.

`POST {base}/2010-04-01/Accounts/{sid}/Messages.json` with basic auth and the
form fields To, From, Body (and StatusCallback when our inbound endpoint is
public). Twilio and the many providers that copy it have no idempotency key:
a request whose answer is lost (a read timeout, a reset connection after the
request went out) may have been delivered, and its retry may deliver twice.
Connection errors before the request is sent are safe to retry.

Each delivered message records who it went to in a `RecipientIndex`, so an
inbound reply from that number can be traced back to its accounts.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from pathlib import Path

import httpx

from activities.channels import Outgoing, PermanentFailure, Receipt, TransientFailure
from activities.http_errors import raise_for_delivery


class RecipientIndex:
    """Which accounts a phone number belongs to, stored as keyed hashes, not numbers."""

    def __init__(self, path: Path, secret: str) -> None:
        self.path, self.secret = path, secret
        self._lock = threading.Lock()

    def digest(self, phone: str) -> str:
        return hmac.new(self.secret.encode(), phone.encode(), hashlib.sha256).hexdigest()

    def remember(self, phone: str, account_id: str) -> None:
        if account_id in self.accounts(phone):
            return
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps({"phone": self.digest(phone), "account": account_id})
                             + "\n")

    def accounts(self, phone: str) -> list[str]:
        if not self.path.exists():
            return []
        digest, found = self.digest(phone), []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            if entry.get("phone") == digest and entry["account"] not in found:
                found.append(entry["account"])
        return found


class TwilioSms:
    idempotent = False

    def __init__(self, base_url: str, account_sid: str, auth_token: str, sender: str,
                 recipients: RecipientIndex, status_callback: str | None = None,
                 timeout: float = 10.0) -> None:
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
