"""The payment provider's stand-in on loopback as Stripe is on the internet: its API on
one port and its hosted pages on another (two origins, neither the portal's), with the
web app in `stripe` mode pointed at it, the way a real account is configured."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette

from rapport.runtime.servers import free_port
from rapport.web.app import serve_asgi
from rapport.web.payments import DevProvider
from tests.web.portal_rig import Rig, portal_rig

API_KEY = "sk_test_stand_in"
WEBHOOK_SECRET = "whsec_test_stand_in"


@dataclass
class ProviderRig:
    rig: Rig
    provider: DevProvider
    api: str
    pages: str


@asynccontextmanager
async def provider_rig(
    folder: Path, page_origin_known: bool = True, **overrides: Any
) -> AsyncIterator[ProviderRig]:
    """`page_origin_known`: the web app is told where the hosted pages are
    (RAPPORT_PAYMENT_PAGE_URL); without it, it assumes Stripe's."""
    api_port, pages_port = free_port(), free_port()
    api, pages = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{pages_port}"
    settings: dict[str, Any] = {
        "payment_provider": "stripe",
        "payment_api_url": api,
        "payment_api_key": API_KEY,
        "payment_webhook_secret": WEBHOOK_SECRET,
        **({"payment_page_url": pages} if page_origin_known else {}),
        **overrides,
    }
    async with portal_rig(folder, **settings) as rig:
        provider = DevProvider(pages, f"{rig.web}/webhooks/payments", API_KEY, WEBHOOK_SECRET)
        api_server = await serve_asgi(
            Starlette(routes=provider.api_routes(prefix="")), "127.0.0.1", api_port
        )
        pages_server = await serve_asgi(
            Starlette(routes=provider.page_routes(prefix="")), "127.0.0.1", pages_port
        )
        try:
            yield ProviderRig(rig, provider, api, pages)
        finally:
            await pages_server.stop()
            await api_server.stop()
