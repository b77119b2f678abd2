"""The same payment's events at once, on SQLite and PostgreSQL: the provider sends a
completion several times (the same event id, and new ones) and its refunds while the
completion is still being taken. Every delivery is answered, the journey counts the
payment once and each refund's new total once, and the ledger's row agrees."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from rapport.store.payments import PaymentLedger
from tests.payments.stand_in import WEBHOOK_SECRET, provider_rig
from tests.payments.stripe_events import deliver, opened, refund_event, session_event

pytestmark = pytest.mark.timeout(180)


@pytest.mark.slow
@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
async def test_one_payments_events_at_once_count_once(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store: dict[str, Any] = {}
    if database == "postgresql":
        server = request.getfixturevalue("postgres")
        store["database_url"] = server.new_database(f"t{uuid.uuid4().hex[:12]}")
    async with provider_rig(tmp_path, **store) as stand_in:
        rig = stand_in.rig
        account_id, _ = await rig.customer()
        opened(rig.store, account_id, "pi_many", 5000, provider=stand_in.provider)
        paid = session_event("completed", account_id, "pi_many", 5000)
        again = [session_event("completed", account_id, "pi_many", 5000) for _ in range(5)]
        refunds = [refund_event(account_id, "pi_many", 5000, 1000 * n) for n in (1, 2, 3)]
        events = [paid] * 5 + again + refunds
        async with httpx.AsyncClient(timeout=60) as http:
            answers = await asyncio.gather(
                *(deliver(http, rig.web, event, WEBHOOK_SECRET) for event in events)
            )
        assert [a.status_code for a in answers] == [200] * len(events)
        status = await rig.status_when(
            account_id, lambda s: s.reversals and s.reversals[-1].amount == Decimal("30.00")
        )
        assert [(p.payment_id, p.amount) for p in status.payments] == [
            ("pi_many", Decimal("50.00"))
        ]
        assert status.balance == Decimal("280.00")
        row = PaymentLedger(rig.store).find("pi_many")
        assert row is not None
        assert (row.status, row.applied, row.reversed, row.unapplied) == (
            "partially_refunded",
            True,
            Decimal("30.00"),
            Decimal(0),
        )
