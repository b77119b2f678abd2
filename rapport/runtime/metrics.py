"""Prometheus metrics: Temporal's SDK metrics and our counters on one `/metrics`.

`serve(port)` makes a Temporal core runtime that exports its metrics in Prometheus'
format on the port (`RAPPORT_METRICS_PORT` for the worker, `RAPPORT_WEB_METRICS_PORT`
for `journey web`) and makes it the process's default, so every client and worker made
afterwards reports there; our counters (`rapport.contract.metrics`) go to the same
meter. No second HTTP server and no second library: Temporal's exporter serves both.

`Counting` is the worker's activity interceptor that counts what became of each send
and handoff from the activity's own result or failure, so the activities need not know
about metrics, and nothing is counted in workflow code.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
from sqlalchemy.exc import SQLAlchemyError
from temporalio import activity
from temporalio.common import MetricCounter, MetricMeter
from temporalio.exceptions import ApplicationError
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from activities.delivery import UNDELIVERABLE, WINDOW_CLOSED
from rapport.billing.sources import BillingUnavailable
from rapport.contract import metrics
from rapport.contract.metrics import HANDOFFS, MESSAGES, Counter
from rapport.providers.base import TransientFailure
from rapport.store.database import StoreUnavailable

SENT = ("delivered", "duplicate")
# why a send attempt failed and will be retried, from the error under the activity's
CAUSES: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], str], ...] = (
    ((StoreUnavailable, SQLAlchemyError), "store"),
    (BillingUnavailable, "billing"),
    (TransientFailure, "provider"),
    ((httpx.TransportError, OSError, TimeoutError, ConnectionError), "network"),
)


class MetricsUnavailable(RuntimeError):
    """The metrics port cannot be bound (in use, or not ours to take)."""


def serve(port: int) -> Runtime:
    """Serve this process's metrics on http://0.0.0.0:PORT/metrics (see above)."""
    config = PrometheusConfig(bind_address=f"0.0.0.0:{port}")  # Temporal's names, as documented
    try:
        runtime = Runtime(telemetry=TelemetryConfig(metrics=config, attach_service_name=False))
    except Exception as exc:  # the core's bind error
        raise MetricsUnavailable(f"port {port}: {exc}") from exc
    Runtime.set_default(runtime, error_if_already_set=False)
    metrics.install(MeterSink(runtime.metric_meter))
    return runtime


class MeterSink:
    """Our counters as counters of a Temporal metric meter (one per counter and labels)."""

    def __init__(self, meter: MetricMeter) -> None:
        self.meter = meter
        self.counters: dict[str, MetricCounter] = {}

    def __call__(self, counter: Counter, labels: Mapping[str, str], value: int) -> None:
        made = self.counters.get(counter.name)
        if made is None:
            made = self.counters[counter.name] = self.meter.create_counter(
                counter.name, counter.help
            )
        made.with_additional_attributes(dict(labels)).add(value)


# --- what became of each send: the worker's activity interceptor ------------------------


class Counting(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _CountingActivities(next)


class _CountingActivities(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        rule = RULES.get(activity.info().activity_type)
        if rule is None:
            return await super().execute_activity(input)
        try:
            result = await super().execute_activity(input)
        except BaseException as error:
            rule(input.args, None, error)
            raise
        rule(input.args, result, None)
        return result


def outcome(result: Any, error: BaseException | None) -> tuple[str, str]:
    """(result, reason) of one attempt, from the activity's reply or failure."""
    if error is None:
        status = str(getattr(result, "status", "unknown"))
        return ("sent", status) if status in SENT else ("skipped", status)
    if isinstance(error, asyncio.CancelledError):
        return "skipped", "cancelled"
    if isinstance(error, ApplicationError) and error.type == WINDOW_CLOSED:
        return "deferred", "window_closed"
    if isinstance(error, ApplicationError) and error.type == UNDELIVERABLE:
        return "skipped", "undeliverable"
    return "failed", cause(error)


def cause(error: BaseException) -> str:
    """The activity wraps what failed (`raise ApplicationError(...) from None` keeps it as
    the context): name the part that failed."""
    under = error.__cause__ or error.__context__ or error
    for kinds, name in CAUSES:
        if isinstance(under, kinds):
            return name
    return "other"


def _count_send(args: Sequence[Any], result: Any, error: BaseException | None) -> None:
    channel = str(getattr(args[0], "channel", "unknown")) if args else "unknown"
    happened, reason = outcome(result, error)
    metrics.count(MESSAGES, channel=channel, result=happened, reason=reason)


def _count_handoff(args: Sequence[Any], result: Any, error: BaseException | None) -> None:
    metrics.count(HANDOFFS, result=outcome(result, error)[0])


RULES: dict[str, Callable[[Sequence[Any], Any, BaseException | None], None]] = {
    "send_message": _count_send,
    "create_handoff": _count_handoff,
}
