"""The one web app (`journey web`; `make run` starts it beside the worker): today the
codec endpoints the Temporal UI uses to show decrypted payloads, the emails' one-click
unsubscribe, and a health check. The portal and the intake API join it here."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from rapport.consent.book import ConsentBook
from rapport.runtime.settings import Settings
from rapport.security.codec import EncryptionCodec
from rapport.store.database import Store
from rapport.store.links import LinkBook
from rapport.web.codec import CodecEndpoints
from rapport.web.unsubscribe import Unsubscribe

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> Starlette:
    ring = settings.key_ring()
    codec = CodecEndpoints(EncryptionCodec(ring) if ring else None,
                           settings.codec_token.get_secret_value() if settings.codec_token
                           else None, ui_origins(settings))
    store = Store(settings.store_url())
    store.ready()
    unsubscribe = Unsubscribe(LinkBook(store), ConsentBook(store))
    return Starlette(routes=[Route("/health", health), *codec.routes(),
                             *unsubscribe.routes()])


def ui_origins(settings: Settings) -> list[str]:
    """The Temporal UI's origins that may call the codec from a browser."""
    host = settings.temporal_address.rpartition(":")[0] or "127.0.0.1"
    port = settings.dev_ui_port
    return [f"http://{name}:{port}" for name in {host, "localhost", "127.0.0.1"}]


async def health(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def bind_address(settings: Settings) -> tuple[str, int]:
    """Where to listen by default: the host and port of RAPPORT_PORTAL_URL, on loopback."""
    url = urlsplit(settings.portal_url)
    return "127.0.0.1", url.port or (443 if url.scheme == "https" else 80)


class _Server(uvicorn.Server):
    """Leaves signals to the process that runs it (the worker stops gracefully on them)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class WebServer:
    server: uvicorn.Server
    task: asyncio.Task[None]
    address: str

    async def stop(self) -> None:
        self.server.should_exit = True
        await self.task


async def serve_web(settings: Settings, host: str | None = None,
                    port: int | None = None) -> WebServer:
    """Start serving in this event loop, beside whatever else runs in it (the worker)."""
    default_host, default_port = bind_address(settings)
    host, port = host or default_host, port or default_port
    server = _Server(uvicorn.Config(create_app(settings), host=host, port=port,
                                           log_level="warning", access_log=False))
    task = asyncio.get_running_loop().create_task(server.serve())
    while not server.started and not task.done():
        await asyncio.sleep(0.05)
    if task.done():
        task.result()
        raise OSError(f"the web app could not listen on {host}:{port}")
    return WebServer(server, task, f"http://{host}:{port}")
