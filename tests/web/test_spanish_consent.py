"""A Spanish-speaking customer, tried as a designer would: the opt-out line, the reply
ALTO, the HELP answer and the unsubscribe page speak Spanish (issue 24's finding)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.delivery import DeliveryActivities
from rapport.channels import CHANNELS
from rapport.compliance.keywords import keyword, said
from rapport.consent.book import ConsentBook
from rapport.contract.names import workflow_id
from rapport.language.account import Account
from rapport.providers.base import Router
from rapport.providers.outbox import Capture
from rapport.providers.twilio import TwilioSms
from rapport.runtime.settings import Settings
from rapport.runtime.workers import EngineParts, build_worker
from rapport.security.links import LinkSigner
from rapport.store.links import LinkBook
from rapport.web.inbound import InboundSms
from rapport.web.journeys import JourneyLink
from tests.fakes import FakeSmsProvider, recipients_at, serving, serving_asgi
from tests.journey_files import write_journey
from tests.scenarios import account
from tests.sends import send_message
from tests.web.test_inbound import post_signed
from workflows.journey import DelinquencyJourney
from workflows.state import JourneyInput

SPANISH_LINE = "Responda ALTO para dejar de recibir mensajes de texto."
DAILY = """\
id: daily-es
version: 1
name: Daily texts
steps:
  - {id: first, send: {channel: sms, template: gracias}}
  - {id: pause, wait: 1d}
  - {id: second, send: {channel: sms, template: gracias}}
  - {id: pause2, wait: 1d}
  - {id: third, send: {channel: sms, template: gracias}}
"""
GRACIAS_SMS = "¡Gracias, {{ customer.first_name }}! Debe {{ balance }}. {{ opt_out }}\n"


@pytest.mark.parametrize(
    "reply", ["ALTO", "alto", "Parar.", "PARE", "baja", "CANCELAR", "Detener!"]
)
def test_spanish_stop_words_opt_out(reply: str) -> None:
    assert keyword(reply) == "opt_out"


@pytest.mark.parametrize("reply", ["Arrêt", "STOPP", "abmelden", "basta", "sair"])
def test_clear_stop_requests_in_other_languages_opt_out(reply: str) -> None:
    assert keyword(reply) == "opt_out"


def test_a_sentence_with_a_stop_word_is_not_an_opt_out() -> None:
    assert keyword("no pare de escribirme") is None
    assert said("AYUDA") is not None
    assert (said("AYUDA").means, said("AYUDA").language) == ("help", "es")  # type: ignore[union-attr]


def test_every_channel_has_its_opt_out_line_in_spanish() -> None:
    links = {"opt_out": "https://x/u/t", "contact_us": "https://x/r/t"}
    for name, spec in CHANNELS.items():
        english, spanish = spec.opt_out_text(links, "en-US"), spec.opt_out_text(links, "es-MX")
        assert english != spanish, name
    assert CHANNELS["sms"].opt_out_text(links, "es") == SPANISH_LINE
    assert CHANNELS["sms"].opt_out_text(links, "fr-FR") == "Reply STOP to opt out of texts."


async def test_the_send_activity_accepts_the_spanish_line_and_refuses_none() -> None:
    spanish = Account.model_validate(account(customer__locale="es-US"))
    capture = Capture()
    delivery = DeliveryActivities(Router({"sms": capture}), LinkSigner("k"))
    sent = await ActivityEnvironment().run(
        delivery.send_message,
        send_message(
            {"gracias.sms.j2": GRACIAS_SMS}, channel="sms", template="gracias", customer=spanish
        ),
    )
    english_only = {"gracias.sms.j2": "Gracias. Reply STOP to opt out of texts.\n"}
    refused = await ActivityEnvironment().run(
        delivery.send_message,
        send_message(english_only, channel="sms", template="gracias", customer=spanish, key="k-2"),
    )
    assert sent.status == "delivered"
    [item] = capture.items.values()
    assert item.body.rstrip().endswith(SPANISH_LINE)
    assert (refused.status, "does not say how to opt out" in (refused.detail or "")) == (
        "rejected",
        True,
    )


async def test_a_spanish_customer_who_answers_alto_gets_no_more_texts(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    write_journey(tmp_path, DAILY, {"gracias.sms.j2": GRACIAS_SMS})
    provider = FakeSmsProvider()
    recipients = recipients_at(tmp_path)
    queue = f"spanish-{uuid.uuid4()}"
    async with serving(provider.app()) as sms_base:
        sms = TwilioSms(sms_base, provider.sid, provider.token, "+15550000000", recipients)
        parts = EngineParts(
            journeys=[tmp_path],
            channels={"*": Capture(), "sms": sms},
            signer=LinkSigner("k"),
            links=LinkBook(recipients.store),
        )
        inbound = InboundSms(
            JourneyLink(Settings(), env.client),
            recipients,
            provider.token,
            "http://placeholder",
            ConsentBook(recipients.store),
            help_contact="Questions about your account? Call us on the number on your bill.",
        )
        async with (
            build_worker(env.client, queue, parts),
            serving_asgi(inbound.app()) as base,
            httpx.AsyncClient() as http,
        ):
            inbound.public_url = base
            customer = account(customer__locale="es-US", customer__first_name="María")
            handle = await env.client.start_workflow(
                DelinquencyJourney.run,
                JourneyInput(account=Account.model_validate(customer), journey="daily-es"),
                id=workflow_id("T-1"),
                task_queue=queue,
            )
            await env.sleep(timedelta(hours=12))  # the first text has gone, not the second
            number = customer["customer"]["phone"]
            help_reply = await post_signed(
                http, f"{base}/sms/inbound", provider.token, {"From": number, "Body": "HELP"}
            )
            reply = await post_signed(
                http, f"{base}/sms/inbound", provider.token, {"From": number, "Body": "ALTO"}
            )
            await handle.result()
            status = await handle.query(DelinquencyJourney.status)
    assert reply.status_code == 200
    assert len(provider.messages) == 1
    assert provider.messages[0]["Body"].rstrip().endswith(SPANISH_LINE)
    assert "¡Gracias, María!" in provider.messages[0]["Body"]
    assert [m.step for m in status.messages] == ["first"]
    assert [(s.step, s.reason) for s in status.skipped] == [
        ("second", "opted_out"),
        ("third", "opted_out"),
    ]
    # HELP from the customer's number is answered in the account's language
    assert "Llámenos al número que figura en su factura" in help_reply.text
    assert "Responda ALTO" in help_reply.text


async def test_the_unsubscribe_page_speaks_the_customers_language(tmp_path: Path) -> None:
    from rapport.runtime.servers import free_port
    from rapport.store.database import Store
    from rapport.web.app import serve_web

    settings = Settings(data_dir=tmp_path, portal_url=f"http://127.0.0.1:{free_port()}")
    store = Store(settings.store_url())
    store.upgrade()
    capture = Capture()
    delivery = DeliveryActivities(
        Router({"email": capture}),
        LinkSigner("k"),
        links=LinkBook(store),
        portal_url=settings.portal_url,
    )
    email = {"aviso.email.j2": "Subject: Su saldo\n\n{{ balance }}.\n{{ opt_out }}\n"}
    spanish = Account.model_validate(account(customer__locale="es-MX"))
    await ActivityEnvironment().run(
        delivery.send_message,
        send_message(email, channel="email", template="aviso", customer=spanish),
    )
    [item] = capture.items.values()
    assert item.unsubscribe_url is not None
    web = await serve_web(settings)
    try:
        async with httpx.AsyncClient() as http:
            page = await http.get(item.unsubscribe_url)
            done = await http.post(item.unsubscribe_url, content="List-Unsubscribe=One-Click")
            unknown = await http.get(
                f"{settings.portal_url}/u/AAAAAAAAAAAAAAAA", headers={"Accept-Language": "es-ES"}
            )
    finally:
        await web.stop()
    assert "Para dejar de recibir correos sobre esta cuenta" in item.body
    assert '<html lang="es">' in page.text
    assert "¿Dejar de recibir correos?" in page.text
    assert "No recibir más correos" in page.text
    assert "Listo: no más correos" in done.text
    assert unknown.status_code == 404
    assert '<html lang="es">' in unknown.text
