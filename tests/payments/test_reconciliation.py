"""Reconciliation: a few hundred random money events through the real paths (the signed
provider webhook and the billing client), for running journeys and ended ones: paid by
card, paid by bank debit then settled or failed, refunded in parts, disputed (and
won back), sent twice, sent again under a new event id, reported by billing (twice,
sometimes), and journeys ended on the way. Afterwards, for every account, what the ledger says the
money came to equals what the journeys counted plus what `journey payments
--unapplied` lists, to the minor unit; and the ledger equals the events' own sum."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from temporalio.service import RPCError

from rapport.cli import main
from rapport.client import Journeys
from rapport.contract.names import workflow_id
from rapport.store.payments import PaymentLedger
from rapport.web.payments import DevProvider
from tests.payments.stand_in import WEBHOOK_SECRET, provider_rig
from tests.payments.stripe_events import (
    deliver,
    dispute_closed_event,
    dispute_event,
    opened,
    refund_event,
    session_event,
)
from tests.web.portal_rig import Rig

ACCOUNTS = 16
EVENTS = 300
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]  # ~20 s of real work


@dataclass
class Payment:
    """What the test itself knows of one payment: the truth to check the ledger against."""

    account_id: str
    cents: int
    paid: bool = False
    failed: bool = False
    refunded: int = 0
    disputed: int = 0

    @property
    def net(self) -> int:
        return self.cents - min(self.cents, self.refunded + self.disputed) if self.paid else 0


@dataclass
class Model:
    chance: random.Random
    accounts: list[str]
    payments: dict[str, Payment] = field(default_factory=dict)
    sent: list[dict[str, Any]] = field(default_factory=list)
    billing: list[tuple[str, int, str]] = field(default_factory=list)

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{len(self.payments)}_{self.chance.randrange(10**6)}"

    def pick(self, *, paid: bool | None = None, pending: bool = False) -> tuple[str, Payment]:
        ids = [
            k
            for k, p in self.payments.items()
            if (paid is None or p.paid == paid)
            and (not pending or (not p.paid and not p.failed))
            and k.startswith("pi_")
        ]
        if not ids:
            raise LookupError
        key = self.chance.choice(ids)
        return key, self.payments[key]

    def next_event(self) -> dict[str, Any] | tuple[str, int, str] | None:
        """One random money event (a provider event, or a billing report), or None."""
        c, kind = (
            self.chance,
            self.chance.choices(
                [
                    "card",
                    "bank",
                    "settle",
                    "fail",
                    "refund",
                    "dispute",
                    "won",
                    "again",
                    "resend",
                    "billing",
                ],
                weights=[24, 10, 8, 3, 10, 5, 3, 6, 8, 10],
            )[0],
        )
        try:
            if kind in ("card", "bank"):
                account, cents = c.choice(self.accounts), c.randrange(100, 6000)
                key = self.new_id("pi")
                self.payments[key] = Payment(account, cents, paid=kind == "card")
                status = "paid" if kind == "card" else "unpaid"
                return session_event("completed", account, key, cents, payment_status=status)
            if kind in ("settle", "fail"):
                key, p = self.pick(pending=True)
                p.paid, p.failed = kind == "settle", kind == "fail"
                name = "async_payment_succeeded" if p.paid else "async_payment_failed"
                return session_event(
                    name, p.account_id, key, p.cents, "paid" if p.paid else "unpaid"
                )
            if kind == "refund":
                key, p = self.pick(paid=True)
                p.refunded = min(p.cents, p.refunded + c.randrange(1, p.cents + 1))
                return refund_event(p.account_id, key, p.cents, p.refunded)
            if kind == "dispute":
                key, p = self.pick(paid=True)
                if p.disputed:
                    return None
                p.disputed = p.cents - min(p.cents, p.refunded)
                return dispute_event(key, p.disputed) if p.disputed else None
            if kind == "won":  # the merchant won a dispute: the money is back
                key, p = self.pick(paid=True)
                if not p.disputed or f"dp_{key}" in self.payments:
                    return None
                self.payments[f"dp_{key}"] = Payment(p.account_id, p.disputed, paid=True)
                return dispute_closed_event(key, p.disputed)
            if kind == "again" and self.sent:  # the same content, a new event id
                again: dict[str, Any] = json.loads(json.dumps(c.choice(self.sent)))
                again["id"] = f"evt_again_{c.randrange(10**9)}"
                return again
            if kind == "resend" and self.sent:  # the same event, delivered again
                return c.choice(self.sent)
            if kind == "billing":
                if self.billing and c.random() < 0.2:
                    return c.choice(self.billing)  # billing reports a payment twice
                account, cents = c.choice(self.accounts), c.randrange(100, 6000)
                key = self.new_id("B")
                self.payments[key] = Payment(account, cents, paid=True)
                report = (account, cents, key)
                self.billing.append(report)
                return report
        except LookupError:
            return None
        return None


async def test_the_ledger_reconciles_with_the_journeys_and_the_unapplied_list(
    tmp_path: Path,
) -> None:
    seed = int(os.environ.get("RAPPORT_TEST_SEED") or time.time())
    async with provider_rig(tmp_path) as stand_in:
        rig = stand_in.rig
        accounts = [f"R{seed % 10000}-{i}" for i in range(ACCOUNTS)]
        for account_id in accounts:
            await rig.journeys.start(rig.account(account_id), "portal")
        model = Model(random.Random(seed), accounts)
        ended = set(model.chance.sample(accounts, 3))
        for account_id in ended:  # money for journeys that have ended, from the start
            await rig.status_when(account_id, lambda s: s.journey_id)  # begun, then ended
            await rig.client.get_workflow_handle(workflow_id(account_id)).terminate("test")
        started = time.monotonic()
        async with httpx.AsyncClient(timeout=30) as http:
            await run_events(rig, stand_in.provider, http, model, ended)
        took = time.monotonic() - started
        counted = {a: await accounted(rig, a) for a in accounts}
    unapplied = unapplied_by_account(rig)
    ledger = PaymentLedger(rig.store)
    problems: list[tuple[object, ...]] = []
    for account_id in accounts:
        rows = ledger.for_account(account_id)
        net = sum((p.net for p in rows), Decimal(0))
        truth = sum(
            (Decimal(p.net) / 100 for p in model.payments.values() if p.account_id == account_id),
            Decimal(0),
        )
        left = unapplied.get(account_id, Decimal(0))
        if not (net == truth == counted[account_id] + left):
            problems.append((account_id, net, truth, counted[account_id], left))
            for row in rows:  # what differs, payment by payment
                known = model.payments.get(row.payment_id)
                if known is None or Decimal(known.net) / 100 != row.net:
                    problems.append((row.payment_id, row.status, row.net, known))
    assert problems == [], f"seed {seed}: {problems}"
    assert len(model.payments) > 100
    assert any(v != 0 for v in unapplied.values())  # ended journeys left money for billing
    won = sum(1 for k in model.payments if k.startswith("dp_"))
    print(
        f"\n{won} disputes won; reconciled {len(model.sent)} provider events and {len(model.billing)} billing "
        f"reports in {took:.1f} s (seed {seed})"
    )


async def run_events(
    rig: Rig, provider: DevProvider, http: httpx.AsyncClient, model: Model, ended: set[str]
) -> None:
    billing, done = rig.journeys, 0  # one client, one store connection, as billing's
    retry: list[dict[str, Any]] = []
    while done < EVENTS:
        batch = []
        for _ in range(model.chance.choice([1, 1, 1, 4])):  # sometimes at once
            event = model.next_event()
            if event is None:
                continue
            if isinstance(event, dict) and event["type"] == "checkout.session.completed":
                thing = event["data"]["object"]  # the checkout the portal opened for it
                key = thing["payment_intent"]
                opened(
                    rig.store,
                    thing["client_reference_id"],
                    key,
                    thing["amount_total"],
                    provider=provider,
                )
            batch.append(event)
            done += 1
        retry = await deliver_all(rig, http, batch + retry, billing, model)
        if done >= EVENTS:
            for _ in range(5):  # the provider sends again until it gets a 2xx
                retry = await deliver_all(rig, http, retry, billing, model)
            assert retry == []
        if model.chance.random() < 0.02:  # a journey ends on the way
            running = [a for a in model.accounts if a not in ended]
            if running:
                gone = model.chance.choice(running)
                ended.add(gone)
                with contextlib.suppress(RPCError):  # it may have ended paid already
                    await rig.client.get_workflow_handle(workflow_id(gone)).terminate("test")


async def deliver_all(
    rig: Rig, http: httpx.AsyncClient, events: list[Any], billing: Journeys, model: Model
) -> list[dict[str, Any]]:
    """Deliver at once; what the web app asked to have sent again (503), as the
    provider would."""
    answers = await asyncio.gather(*(send(rig, http, e, billing) for e in events))
    again = []
    for event, answer in zip(events, answers, strict=True):
        if isinstance(event, dict):
            assert answer in (200, 503), (event, answer)
            if answer == 503:
                again.append(event)
            else:
                model.sent.append(event)
    return again


async def send(rig: Rig, http: httpx.AsyncClient, event: Any, billing: Journeys) -> int:
    if isinstance(event, dict):
        return (await deliver(http, rig.web, event, WEBHOOK_SECRET)).status_code
    account_id, cents, key = event
    await billing.pay(account_id, Decimal(cents) / 100, key)
    return 200


async def accounted(rig: Rig, account_id: str) -> Decimal:
    """What the account's journey counted: its payments, less what went back of them."""
    status = await rig.journeys.status(account_id)  # running or ended: answered by replay
    taken = sum((p.amount for p in status.payments if p.counted), Decimal(0))
    back: dict[str, Decimal] = {}
    for reversal in status.reversals:
        back[reversal.payment_id] = max(back.get(reversal.payment_id, Decimal(0)), reversal.amount)
    return taken - sum(back.values(), Decimal(0))


def unapplied_by_account(rig: Rig) -> dict[str, Decimal]:
    listed = CliRunner().invoke(
        main,
        ["payments", "--unapplied", "--json"],
        env={"RAPPORT_DATABASE_URL": rig.settings.store_url()},
    )
    assert listed.exit_code == 0, listed.output
    sums: dict[str, Decimal] = {}
    for row in json.loads(listed.output)["payments"]:
        sums[row["account_id"]] = sums.get(row["account_id"], Decimal(0)) + Decimal(
            row["unapplied"]
        )
    return sums
