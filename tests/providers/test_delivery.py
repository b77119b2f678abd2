"""Real delivery against real servers on loopback: SMTP, an SMS API, webhooks, billing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.delivery import DeliveryActivities
from rapport.billing.sources import HttpBilling, LocalLedger
from rapport.contract.activities import SendMessage
from rapport.language.account import Account
from rapport.providers.base import Router
from rapport.providers.smtp import SmtpEmail, message_id
from rapport.providers.twilio import TwilioSms
from rapport.providers.webhook import SignedWebhook
from rapport.security.links import LinkSigner
from rapport.security.signatures import signed_headers
from rapport.store.checkouts import CheckoutBook
from rapport.store.database import Store
from rapport.store.payments import MoneyEvent, PaymentLedger
from tests.fakes import (
    FakeBilling,
    FakeSmsProvider,
    Mailbox,
    WebhookReceiver,
    recipients_at,
    serving,
    smtp_server,
)
from tests.scenarios import account, opening, sent, simulate_journey
from tests.sends import send_message

SIGNER = LinkSigner("k")

EMAIL_THEN_SMS = """\
id: delivery
version: 1
name: Email then SMS
on_paid:
  send: {channel: email, template: thanks}
steps:
  - {id: reminder, send: {channel: email, template: reminder}}
  - {id: pause, wait: 1d}
  - {id: nudge, send: {channel: sms, template: nudge}}
  - {id: pause2, wait: 1d}
  - {id: last, send: {channel: email, template: reminder}}
"""


def sms_channel(provider: FakeSmsProvider, base: str, tmp_path: Path) -> TwilioSms:
    return TwilioSms(base, provider.sid, provider.token, "+15550000000", recipients_at(tmp_path))


def request(
    channel: str = "email", key: str = "delinquency-T-1/x/v1/reminder/1/email"
) -> SendMessage:
    templates = {
        "reminder.email.j2": "Subject: Your balance\n\nHi {{ customer.first_name }}, "
        "{{ balance }}: {{ links.pay_now }}\n\n{{ opt_out }}",
        "reminder.push.j2": "{{ balance }} due",
    }
    return send_message(
        templates,
        channel=channel,
        template="reminder",
        key=key,
        balance="300.00",
        customer=Account.model_validate(account(consent={"email": True, "push": True})),
    )


async def test_email_over_smtp_once_per_message_across_retries() -> None:
    mailbox = Mailbox()
    async with smtp_server(mailbox) as port:
        channel = SmtpEmail("127.0.0.1", port, "Accounts <accounts@example.com>", starttls=False)
        delivery = DeliveryActivities(Router({"email": channel}), SIGNER)
        env = ActivityEnvironment()
        first = await env.run(delivery.send_message, request())
        redelivered = await env.run(delivery.send_message, request())  # an activity retry
    assert (first.status, redelivered.status) == ("delivered", "delivered")
    assert len(mailbox.unique) == 1  # the same Message-ID: one message in the mailbox
    mail = next(iter(mailbox.unique.values()))
    assert mail["Message-ID"] == message_id("delinquency-T-1/x/v1/reminder/1/email")
    assert mail["Subject"] == "Your balance"
    assert mail["To"] == "robin@example.com"
    parts = {
        p.get_content_type(): bytes(p.get_payload(decode=True)).decode()
        for p in mail.walk()
        if not p.is_multipart()
    }
    assert "Hi Robin, $300.00" in parts["text/plain"]
    assert '<a href="http://localhost:8000/r/' in parts["text/html"]


async def test_refused_address_skips_the_step(env: WorkflowEnvironment, tmp_path: Path) -> None:
    mailbox = Mailbox(refuse={"robin@example.com"})
    async with smtp_server(mailbox) as port:
        smtp = SmtpEmail("127.0.0.1", port, "accounts@example.com", starttls=False)
        timeline = await simulate_journey(
            env, tmp_path, EMAIL_THEN_SMS, days=3, channels={"email": smtp}
        )
    assert [s for s, _, _ in sent(timeline)] == ["nudge"]
    assert [(s["step"], s["reason"]) for s in timeline["skipped"]] == [
        ("reminder", "rejected"),
        ("last", "rejected"),
    ]
    assert "550" in timeline["skipped"][0]["detail"]


async def test_webhook_is_signed_and_redelivery_is_a_noop() -> None:
    receiver = WebhookReceiver(secret="hook-secret")
    async with serving(receiver.app()) as base:
        channel = SignedWebhook(f"{base}/hook", "hook-secret")
        delivery = DeliveryActivities(Router({"push": channel}), SIGNER)
        env = ActivityEnvironment()
        key = "delinquency-T-1/x/v1/reminder/1/push"
        await env.run(delivery.send_message, request("push", key))
        await env.run(delivery.send_message, request("push", key))
        async with httpx.AsyncClient() as client:
            body = b'{"key": "forged", "body": "pay now"}'
            headers = signed_headers("hook-secret", "forged", body)
            tampered = await client.post(
                f"{base}/hook", content=body.replace(b"now", b"more"), headers=headers
            )
            wrong_key = await client.post(
                f"{base}/hook", content=body, headers=signed_headers("guess", "forged", body)
            )
    assert len(receiver.received) == 2
    assert list(receiver.accepted) == [key]
    assert receiver.accepted[key]["body"] == "$300.00 due"
    assert (tampered.status_code, wrong_key.status_code) == (401, 401)
    assert receiver.rejected == 2


async def test_sms_bad_number_is_skipped_with_the_providers_reason(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    provider = FakeSmsProvider(bad_numbers={"+12125550100"})
    async with serving(provider.app()) as base:
        timeline = await simulate_journey(
            env,
            tmp_path,
            EMAIL_THEN_SMS,
            days=3,
            channels={"sms": sms_channel(provider, base, tmp_path)},
        )
    assert [s for s, _, _ in sent(timeline)] == ["reminder", "last"]
    skip = timeline["skipped"][0]
    assert (skip["step"], skip["reason"]) == ("nudge", "rejected")
    assert "21211" in skip["detail"]
    assert "not a valid phone number" in skip["detail"]
    assert provider.requests == 1  # a permanent failure is not retried


async def test_429_retry_after_is_honoured(env: WorkflowEnvironment, tmp_path: Path) -> None:
    provider = FakeSmsProvider(failures=[(429, {"Retry-After": "3600"})])
    async with serving(provider.app()) as base:
        timeline = await simulate_journey(
            env,
            tmp_path,
            EMAIL_THEN_SMS,
            days=3,
            channels={"sms": sms_channel(provider, base, tmp_path)},
        )
    at = {s: a for s, _, a in sent(timeline)}
    assert at["nudge"] == "2028-03-02T10:00:00-05:00"  # one hour after the 09:00 attempt
    assert provider.requests == 2
    assert len(provider.messages) == 1


@pytest.mark.slow
async def test_outage_past_closing_time_defers_to_the_next_opening(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    # down for 40 requests: with backoff up to 10 minutes that is over three hours of
    # retries, so the 19:00 nudge runs into the 21:00 close and waits for 08:00
    provider = FakeSmsProvider(failures=[(503, {})] * 40)
    async with serving(provider.app()) as base:
        timeline = await simulate_journey(
            env,
            tmp_path,
            EMAIL_THEN_SMS,
            start="2028-03-01T19:00",
            days=3,
            channels={"sms": sms_channel(provider, base, tmp_path)},
        )
    step, channel, at = sent(timeline)[1]
    morning = datetime.fromisoformat(opening("2028-03-03T08:00:00-05:00"))
    assert (step, channel) == ("nudge", "sms")  # the next opening (and the last retries)
    assert morning <= datetime.fromisoformat(at) < morning + timedelta(minutes=5)
    assert len(provider.messages) == 1
    for _, _, at in sent(timeline):
        assert 8 <= datetime.fromisoformat(at).hour < 21


@pytest.mark.slow
async def test_payment_during_an_outage_means_no_reminder(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    provider = FakeSmsProvider(failures=[(503, {})] * 40)
    async with serving(provider.app()) as base:
        timeline = await simulate_journey(
            env,
            tmp_path,
            EMAIL_THEN_SMS,
            start="2028-03-01T19:00",
            days=3,
            channels={"sms": sms_channel(provider, base, tmp_path)},
            events=[{"at": "2028-03-02T22:30", "type": "payment_received", "amount": "300.00"}],
        )
    assert [s for s, _, _ in sent(timeline)] == ["reminder", "on_paid"]
    assert provider.messages == []
    assert timeline["outcome"] == "paid"


async def test_billing_outage_is_retried_before_sending(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    billing = FakeBilling(balances={"T-1": Decimal("300.00")}, failures=2)
    async with serving(billing.app()) as base:
        timeline = await simulate_journey(
            env, tmp_path, EMAIL_THEN_SMS, days=1, billing=HttpBilling(base, timeout=2.0)
        )
    # two 503s, retried with the delivery's backoff (5 s, then 10 s), then the balance:
    # the balance is asked in the same activity that sends, right before it sends
    assert sent(timeline) == [("reminder", "email", "2028-03-01T09:00:15-05:00")]
    assert billing.requests == 3


async def test_billing_says_paid_before_any_reminder(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    billing = FakeBilling(balances={"T-1": Decimal("0.00")})
    async with serving(billing.app()) as base:
        timeline = await simulate_journey(
            env, tmp_path, EMAIL_THEN_SMS, days=3, billing=HttpBilling(base)
        )
    assert [s for s, _, _ in sent(timeline)] == ["on_paid"]
    assert timeline["outcome"] == "paid"


async def test_local_ledger_payment_reaches_the_journey(
    env: WorkflowEnvironment, tmp_path: Path, sqlite_store: Store
) -> None:
    """A payment in the store's ledger since the journey began stops the next reminder,
    even before the journey is told of it: paid at 10:00, the 09:00 reminder went, the
    next day's text does not."""
    ledger = PaymentLedger(sqlite_store)
    after_start = datetime(2028, 3, 1, 15, tzinfo=UTC)
    ledger.take(MoneyEvent("P-1", "T-1", Decimal("300.00"), "USD", "cli", after_start, paid=True))
    billing = LocalLedger(ledger, CheckoutBook(sqlite_store))
    timeline = await simulate_journey(env, tmp_path, EMAIL_THEN_SMS, days=3, billing=billing)
    assert [s for s, _, _ in sent(timeline)] == ["reminder", "on_paid"]
