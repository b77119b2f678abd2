"""`journey web` serves the web app; `journey keys new` makes an encryption key."""

from __future__ import annotations

import asyncio
import secrets
import signal
from collections.abc import Callable

import click

from rapport.cli.app import fail, main
from rapport.runtime.settings import load_settings, refuse_to_start_unless_fit
from rapport.security.codec import KeyProblem, new_key_line
from rapport.store.database import StoreUnavailable


@main.command()
@click.option("--host", default=None, help="Default 127.0.0.1.")
@click.option(
    "--port", type=int, default=None, help="Default: the port of RAPPORT_PORTAL_URL (8000)."
)
def web(host: str | None, port: int | None) -> None:
    """Serve the one web app: the portal (/r/{token}), the payment provider's webhook (and
    the dev stand-in provider), the SMS webhooks, one-click unsubscribe, the codec; its
    metrics at :RAPPORT_WEB_METRICS_PORT/metrics when that is set. In production
    (RAPPORT_ENVIRONMENT unset) it refuses development defaults: exit 2, one line per
    problem. SIGTERM or Ctrl-C stops it gracefully: it stops accepting, answers the
    requests in flight (30 s at most), then exits 0."""
    from rapport.web.app import serve_web

    settings = load_settings()
    refuse_to_start_unless_fit(settings)
    try:
        ring = settings.key_ring()
    except KeyProblem as problem:
        fail([str(problem)])
    if ring is None:
        click.echo(
            "warning: no encryption keys (RAPPORT_ENCRYPTION_KEYS): the codec endpoints answer 404",
            err=True,
        )

    if settings.web_metrics_port:
        from rapport.runtime import metrics

        try:
            metrics.serve(settings.web_metrics_port)
        except metrics.MetricsUnavailable as exc:
            fail([f"cannot serve metrics (RAPPORT_WEB_METRICS_PORT): {exc}"])

    async def run() -> None:
        try:
            server = await serve_web(settings, host, port, warm=True)
        except StoreUnavailable as exc:
            fail([f"the store: {exc}"])
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):  # a deploy's stop: gracefully
            loop.add_signal_handler(sig, server.server.handle_exit, sig, None)
        click.echo(
            f"web app on {server.address} (portal links: {settings.portal_url}/r/...; "
            f"payments: {settings.payment_provider})"
        )
        await server.task

    with asyncio.Runner(loop_factory=event_loop()) as runner:
        runner.run(run())


def event_loop() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop where it is installed (Linux and macOS): libuv's loop costs the
    web app's requests less CPU than asyncio's own (the intake API's starts a second)."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


@main.group()
def keys() -> None:
    """Encryption keys for customer data in Temporal's history."""


@keys.command()
@click.option("--id", "key_id", default=None, help="The key's id (default: a random one).")
def new(key_id: str | None) -> None:
    """Print a fresh key line. Put it first in RAPPORT_ENCRYPTION_KEYS to encrypt with it;
    keep the old keys after it until their histories are gone."""
    click.echo(new_key_line(key_id or f"k{secrets.token_hex(3)}"))
