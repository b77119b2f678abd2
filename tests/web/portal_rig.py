"""One rig for the portal's tests: the embedded Temporal dev server (real time, so a
page's clock and the journey's agree), a worker with the store's consent book and links,
the one web app on a free loopback port with the dev payment provider, and journeys for
customers in a zone where it is midday now (their first text goes at once)."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from temporalio.client import Client

from rapport.catalog.archive import StoreArchive
from rapport.cli.demo import midday_zone
from rapport.client import Journeys
from rapport.consent.book import ConsentBook
from rapport.contract.journey import JourneyStatus
from rapport.language.account import Account
from rapport.providers.outbox import Capture
from rapport.runtime.servers import free_port, start_local
from rapport.runtime.settings import Settings
from rapport.runtime.temporal import data_converter
from rapport.runtime.workers import EngineParts, build_worker
from rapport.store.database import Store
from rapport.store.links import LinkBook
from rapport.web.app import serve_web
from tests.journey_files import write_journey
from tests.scenarios import account
from tests.stores import migrated_sqlite

JOURNEY = """\
id: portal
version: 1
name: A plan offered by text, a week to answer, a reminder
steps:
  - id: offer
    offer_plan: {channel: sms, template: offer, installments: [3, 6], min_installment: "10.00",
                 respond_within: 7d}
  - id: reminder
    send: {channel: sms, template: nudge}
"""
# A journey whose customers may choose a plan from their first visit, and which follows it.
PLANS_JOURNEY = """\
id: portal-plans
version: 1
name: Plans from the first text, followed
policy:
  plans: {installments: [3, 6], every: [monthly, fortnightly], min_installment: "10.00"}
on_plan:
  confirmation: {channel: sms, template: confirmed}
  remind_before: 3d
  reminder: {channel: sms, template: soon}
  thanks: {channel: sms, template: got_it}
  grace: 3d
  broken: {misses: 1, goto: reminder}
steps:
  - id: first
    send: {channel: sms, template: offer}
  - id: pause
    wait: 7d
  - id: reminder
    send: {channel: sms, template: nudge}
"""
TEMPLATES: dict[str, str | None] = {
    "confirmed.sms.j2": "Your plan: {% for i in plan.installments %}{{ i.amount }} on "
    "{{ i.due }}{% if not loop.last %}, {% endif %}{% endfor %}. {{ links.pay_now }} "
    "{{ opt_out }}\n",
    "soon.sms.j2": "{{ plan.next.left }} is due {{ plan.next.due }}. {{ opt_out }}\n",
    "got_it.sms.j2": "Thanks, we got {{ payment.amount }}. {{ opt_out }}\n",
    "offer.sms.j2": "Hi {{ customer.first_name }}, {{ balance }} is due. Pay, pay "
    "part or spread it: {{ links.pay_now }} {{ opt_out }}\n",
}
LINK = re.compile(r"https?://\S+/r/[A-Za-z0-9_-]{16}")
T = TypeVar("T")


@dataclass
class Rig:
    settings: Settings
    client: Client
    store: Store
    texts: Capture
    web: str
    temporal_address: str = ""

    @property
    def journeys(self) -> Journeys:
        return Journeys(self.client, self.settings)

    async def customer(self, journey: str = "portal", **changes: Any) -> tuple[str, str]:
        """Start a journey for a new customer (their own phone number, ending in 0100);
        (account id, the link in their first text)."""
        account_id = changes.pop("account_id", f"P-{uuid.uuid4().hex[:8]}")
        who = self.account(account_id, **changes)
        await self.journeys.start(who, journey)
        text = await self.eventually(lambda: self._first_text(account_id))
        match = LINK.search(text)
        assert match, text
        return account_id, match.group(0)

    def account(self, account_id: str, **changes: Any) -> Account:
        """The same customer every time for one account id."""
        number = f"+1555{234 + hash(account_id) % 600}0100"  # places no one (area code 555)
        return Account.model_validate(
            account(
                account_id=account_id,
                customer__phone=number,
                customer__timezone=midday_zone(),
                **changes,
            )
        )

    async def _first_text(self, account_id: str) -> str | None:
        return next(
            (
                item.body
                for item in self.texts.items.values()
                if item.account_id == account_id and item.channel == "sms"
            ),
            None,
        )

    async def status(self, account_id: str) -> JourneyStatus:
        return await self.journeys.status(account_id)

    async def status_when(
        self, account_id: str, holds: Callable[[JourneyStatus], object]
    ) -> JourneyStatus:
        """The journey's status once `holds` is true of it."""

        async def probe() -> JourneyStatus | None:
            status = await self.status(account_id)
            return status if holds(status) else None

        return await self.eventually(probe)

    async def eventually(self, probe: Callable[[], Awaitable[T | None]], within: float = 15.0) -> T:
        """What `probe` returns once it returns something (polled every 0.1 s)."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            result = await probe()
            if result is not None and result is not False:
                return result
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("nothing came within the time")
            await asyncio.sleep(0.1)

    @property
    def consent(self) -> ConsentBook:
        return ConsentBook(self.store)


@asynccontextmanager
async def portal_rig(folder: Path, **overrides: Any) -> AsyncIterator[Rig]:
    """`overrides`: settings that differ from the rig's own (a billing URL, the payment
    provider)."""
    write_journey(folder, JOURNEY, TEMPLATES)
    write_journey(folder, PLANS_JOURNEY, name="plans.yaml")
    port = free_port()
    settings = Settings(
        **{
            "data_dir": folder,
            "task_queue": f"portal-{uuid.uuid4()}",
            "portal_url": f"http://127.0.0.1:{port}",
            "journeys_dir": folder,
            **overrides,
        }
    )
    if settings.database_url is None:
        store = migrated_sqlite(folder / "rapport.db")  # where settings.store_url() says
    else:
        store = Store(settings.store_url())
        store.upgrade()
    texts = Capture()
    server = await start_local(converter=data_converter(settings))
    parts = EngineParts(
        journeys=[folder],
        channels={"*": texts},
        signer=settings.signer(),
        consent=ConsentBook(store),
        links=LinkBook(store, settings.address_sealer()),  # as worker.py's
        portal_url=settings.portal_url,
        archive=StoreArchive(store),
    )
    try:
        async with build_worker(server.client, settings.task_queue, parts):
            web = await serve_web(settings, port=port, client=server.client)
            try:
                yield Rig(
                    settings,
                    server.client,
                    store,
                    texts,
                    web.address,
                    server.client.service_client.config.target_host,
                )
            finally:
                await web.stop()
    finally:
        await server.shutdown()
        store.dispose()
