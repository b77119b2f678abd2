"""A signed JSON POST for everything else (voice dialers, letter houses, push, agent
handoff tasks), from `RAPPORT_WEBHOOK_*` settings. See `rapport.security.signatures`."""

from __future__ import annotations

import json
from dataclasses import asdict

import httpx

from rapport.providers.base import Outgoing, Receipt, TransientFailure
from rapport.providers.http import raise_for_delivery
from rapport.security.signatures import signed_headers

NEEDS = ("webhook_url", "webhook_secret")
SERVES = None  # any channel


class SignedWebhook:
    idempotent = True  # receivers deduplicate on the Idempotency-Key header

    def __init__(self, url: str, secret: str, timeout: float = 10.0) -> None:
        self.url, self.secret = url, secret
        self.client = httpx.AsyncClient(timeout=timeout)

    async def deliver(self, item: Outgoing) -> Receipt:
        body = json.dumps(asdict(item), ensure_ascii=False).encode()
        try:
            response = await self.client.post(
                self.url, content=body, headers=signed_headers(self.secret, item.key, body)
            )
        except httpx.HTTPError as exc:
            raise TransientFailure(f"webhook: {type(exc).__name__}: {exc}") from None
        if response.status_code == 409:
            return "duplicate"  # the receiver already has this key
        raise_for_delivery(response, "webhook")
        return "delivered"
