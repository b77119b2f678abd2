"""Assemble a worker: the workflow, its activities and their providers.

`python worker.py`, `journey simulate`, the tests and the benchmarks all build their
worker here, so they run the same code with different providers and servers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

from activities.definitions import DefinitionActivities
from activities.delivery import HEARTBEAT_EVERY, DeliveryActivities
from activities.plans import PlanActivities
from activities.stops import StopActivities
from rapport.billing.sources import BalanceSource, HttpBilling, LocalLedger
from rapport.catalog import registry
from rapport.catalog.archive import Archive, MemoryArchive, StoreArchive
from rapport.catalog.library import Chooser, Library
from rapport.compliance.table import RuleBook
from rapport.consent.book import ConsentBook
from rapport.providers.base import Provider, Router
from rapport.providers.outbox import Outbox
from rapport.providers.smtp import SmtpEmail
from rapport.providers.twilio import TwilioSms
from rapport.providers.webhook import SignedWebhook
from rapport.runtime.metrics import Counting
from rapport.runtime.settings import ROUTED, Settings
from rapport.security.links import LinkSigner
from rapport.store.checkouts import CheckoutBook
from rapport.store.database import Store
from rapport.store.deliveries import DeliveryLog
from rapport.store.links import LinkBook
from rapport.store.payments import PaymentLedger
from rapport.store.recipients import RecipientIndex
from rapport.store.stops import JourneyStops
from workflows.journey import DelinquencyJourney
from workflows.sandbox import workflow_runner


@dataclass
class EngineParts:
    """What differs between a production worker, a simulation and a test."""

    journeys: list[Path]
    channels: Mapping[str, Provider]
    signer: LinkSigner
    balance_source: BalanceSource | None = None
    library: Chooser | None = None  # benchmarks hand over their own journey
    archive: Archive = field(default_factory=MemoryArchive)
    consent: ConsentBook | None = None  # the store's record, checked before every send
    deliveries: DeliveryLog | None = None  # what the account's journeys sent, for caps
    links: LinkBook | None = None  # one-click unsubscribe links in emails
    portal_url: str = "http://localhost:8000"  # RAPPORT_PORTAL_URL
    stops: JourneyStops | None = None  # what each journey was told to stop for
    rules: RuleBook | None = None  # the rule packs; default: `rules/` in the journeys folder


def parts_from_settings(settings: Settings, store: Store | None = None) -> EngineParts:
    """The providers and billing source that settings choose (outbox and ledger by default),
    and the store's archive of pinned journeys and consent book."""
    store = store or open_store(settings)
    outbox = Outbox(settings.outbox_path)
    recipients = RecipientIndex(store)
    providers = {
        channel: provider(settings, settings.adapter_for(channel), outbox, recipients)
        for channel in ROUTED
    }
    return EngineParts(
        journeys=[settings.journeys_dir],
        channels=providers,
        signer=settings.signer(),
        balance_source=billing_from_settings(settings, store),
        archive=StoreArchive(store),
        consent=ConsentBook(store),
        deliveries=DeliveryLog(store),
        links=LinkBook(store, settings.address_sealer()),
        portal_url=settings.portal_url,
        stops=JourneyStops(store),
    )


def billing_from_settings(settings: Settings, store: Store) -> BalanceSource:
    """The billing system over HTTP when RAPPORT_BILLING_URL is set, else the store's
    payments ledger standing in for one."""
    if settings.billing_url:
        return HttpBilling(
            settings.billing_url, settings.secret("billing_token"), settings.billing_timeout
        )
    return LocalLedger(PaymentLedger(store), CheckoutBook(store))


def open_store(settings: Settings) -> Store:
    """The store settings name, with its schema current (see `Store.ready`)."""
    store = Store(settings.store_url())
    store.ready(settings.address_sealer())
    return store


def provider(settings: Settings, name: str, outbox: Outbox, recipients: RecipientIndex) -> Provider:
    """One provider; `Settings.problems()` has already checked that it is configured."""
    s = settings
    if name == "smtp":
        assert s.smtp_host
        assert s.smtp_from
        return SmtpEmail(
            s.smtp_host,
            s.smtp_port,
            s.smtp_from,
            s.smtp_starttls,
            s.smtp_username,
            s.secret("smtp_password"),
            s.smtp_timeout,
        )
    if name == "twilio":
        assert s.twilio_account_sid
        assert s.twilio_auth_token
        assert s.twilio_from
        callback = f"{(s.inbound_public_url or s.portal_url).rstrip('/')}/sms/status"
        return TwilioSms(
            s.twilio_base_url,
            s.twilio_account_sid,
            s.twilio_auth_token.get_secret_value(),
            s.twilio_from,
            recipients,
            callback,
            s.twilio_timeout,
        )
    if name == "webhook":
        assert s.webhook_url
        assert s.webhook_secret
        return SignedWebhook(s.webhook_url, s.webhook_secret.get_secret_value(), s.webhook_timeout)
    return outbox


_FETCHING = ThreadPoolExecutor(max_workers=1, thread_name_prefix="definitions")


def _fetch_in_background(content_hash: str) -> None:
    """A workflow missed this definition: fetch it off the workflow's thread (its task is
    retried and finds it). A failure is left for the retry to ask again."""
    _FETCHING.submit(lambda: registry.pinned(content_hash))


def activities_for(parts: EngineParts) -> list[Callable[..., Any]]:
    # a definition pinned elsewhere, found by hash; the workflow's misses fetched off-thread
    registry.install(parts.archive.load, _fetch_in_background)
    library = parts.library or Library(parts.journeys, parts.rules)
    rules, problems = parts.rules, []  # the packs journeys are checked and sent under
    if rules is None and isinstance(library, Library):
        rules, problems = library.rules, library.rules_problems
    definitions = DefinitionActivities(
        library, parts.archive, parts.deliveries, rules or RuleBook(), problems
    )
    plans = PlanActivities(rules or RuleBook())
    delivery = DeliveryActivities(
        Router(parts.channels),
        parts.signer,
        parts.balance_source,
        parts.consent,
        parts.deliveries,
        parts.links,
        parts.portal_url,
        parts.stops,
    )
    stops = StopActivities(parts.stops, parts.consent)
    return [
        definitions.prepare_journey,
        definitions.zone_rules,
        definitions.resolve_version,
        definitions.account_rules,
        delivery.send_message,
        delivery.create_handoff,
        delivery.record_delivery,
        stops.record_stop,
        plans.plan_due_dates,
    ]


def one_line_logs() -> None:
    """Log lines say what happened and name the account: the SDK's whole info dict is not
    appended to each (it is still on the record, for structured handlers)."""
    workflow.logger.workflow_info_on_message = False
    activity.logger.activity_info_on_message = False


def build_worker(client: Client, task_queue: str, parts: EngineParts, **options: object) -> Worker:
    one_line_logs()
    # a send's heartbeats go out as often as it beats, so a stop's cancellation reaches
    # it within about HEARTBEAT_EVERY (not 80% of its heartbeat timeout)
    throttle = timedelta(seconds=HEARTBEAT_EVERY)
    options.setdefault("max_heartbeat_throttle_interval", throttle)
    options.setdefault("default_heartbeat_throttle_interval", throttle)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[DelinquencyJourney],
        activities=activities_for(parts),
        workflow_runner=workflow_runner(),
        activity_executor=ThreadPoolExecutor(max_workers=8),
        interceptors=[Counting()],  # what became of each send, for the metrics
        **options,  # type: ignore[arg-type]
    )
