"""Assemble a worker: the workflow, its activities and their channels.

`python worker.py`, `journey simulate` and the tests all build their worker
here, so they run the same code with different channels and servers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from activities.channels import Channel, ChannelRouter, Outbox
from activities.definitions import DefinitionActivities
from activities.delivery import DeliveryActivities
from activities.email import SmtpChannel
from activities.payments import BalanceSource, HttpBilling, LocalLedger, PaymentActivities
from activities.sms import RecipientIndex, TwilioSms
from activities.webhook import WebhookChannel
from rapport.links import LinkSigner
from rapport.settings import ROUTED, Settings
from workflows.journey import DelinquencyJourney
from workflows.sandbox import workflow_runner


@dataclass
class EngineParts:
    """What differs between a production worker, a simulation and a test."""

    journeys: list[Path]
    channels: Mapping[str, Channel]
    signer: LinkSigner
    balance_source: BalanceSource | None = None
    load_journey: Callable[..., Any] | None = None  # benchmarks hand over their own journey


def parts_from_settings(settings: Settings) -> EngineParts:
    """The channels and billing source that settings choose (outbox and ledger by default)."""
    outbox = Outbox(settings.outbox_path)
    recipients = recipient_index(settings)
    channels: dict[str, Channel] = {}
    for channel in ROUTED:
        channels[channel] = _adapter(settings, settings.adapter_for(channel), outbox, recipients)
    billing: BalanceSource
    if settings.billing_url:
        token = settings.billing_token.get_secret_value() if settings.billing_token else None
        billing = HttpBilling(settings.billing_url, token, settings.billing_timeout)
    else:
        billing = LocalLedger(settings.ledger_path)
    return EngineParts(journeys=[settings.journeys_dir], channels=channels,
                       signer=settings.signer(), balance_source=billing)


def recipient_index(settings: Settings) -> RecipientIndex:
    return RecipientIndex(settings.data_dir / "sms_recipients.jsonl",
                          settings.link_secret.get_secret_value())


def _adapter(settings: Settings, adapter: str, outbox: Outbox,
             recipients: RecipientIndex) -> Channel:
    """One adapter; `Settings.problems()` has already checked that it is configured."""
    if adapter == "smtp":
        assert settings.smtp_host and settings.smtp_from
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        return SmtpChannel(settings.smtp_host, settings.smtp_port, settings.smtp_from,
                           settings.smtp_starttls, settings.smtp_username, password,
                           settings.smtp_timeout)
    if adapter == "twilio":
        assert settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from
        callback = (f"{settings.inbound_public_url.rstrip('/')}/sms/status"
                    if settings.inbound_public_url else None)
        return TwilioSms(settings.twilio_base_url, settings.twilio_account_sid,
                         settings.twilio_auth_token.get_secret_value(), settings.twilio_from,
                         recipients, callback, settings.twilio_timeout)
    if adapter == "webhook":
        assert settings.webhook_url and settings.webhook_secret
        return WebhookChannel(settings.webhook_url, settings.webhook_secret.get_secret_value(),
                              settings.webhook_timeout)
    return outbox


def activities_for(parts: EngineParts) -> list[Callable[..., Any]]:
    load = parts.load_journey or DefinitionActivities(parts.journeys).load_journey
    payments = PaymentActivities(parts.balance_source)
    delivery = DeliveryActivities(ChannelRouter(parts.channels), parts.signer)
    return [load, payments.check_payment_status, delivery.send_message, delivery.create_handoff]


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
