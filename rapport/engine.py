"""Assemble a worker: the workflow, its activities and their channels.

`python worker.py`, `journey simulate` and the tests all build their worker
here, so they run the same code with different channels and servers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from activities.channels import Channel, ChannelRouter
from activities.definitions import DefinitionActivities
from activities.delivery import DeliveryActivities
from activities.payments import BalanceSource, PaymentActivities
from rapport.links import LinkSigner
from workflows.journey import DelinquencyJourney
from workflows.sandbox import workflow_runner


@dataclass
class EngineParts:
    """What differs between a production worker, a simulation and a test."""

    journeys: list[Path]
    channels: Mapping[str, Channel]
    signer: LinkSigner
    balance_source: BalanceSource | None = None
    extra_activities: list[Callable[..., Any]] = field(default_factory=list)


def activities_for(parts: EngineParts) -> list[Callable[..., Any]]:
    definitions = DefinitionActivities(parts.journeys)
    payments = PaymentActivities(parts.balance_source)
    delivery = DeliveryActivities(ChannelRouter(parts.channels), parts.signer)
    return [definitions.load_journey, payments.check_payment_status, delivery.send_message,
            delivery.create_handoff, *parts.extra_activities]


def build_worker(client: Client, task_queue: str, parts: EngineParts, **options: object) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[DelinquencyJourney],
        activities=activities_for(parts),
        workflow_runner=workflow_runner(),
        activity_executor=ThreadPoolExecutor(max_workers=8),
        **options,  # type: ignore[arg-type]
    )
