"""The portal in a real browser, on a phone-sized screen: a customer opens the link in
their text, passes the light check, and pays part, pays in full, picks a plan, asks for
a call or stops texts, in English or Spanish, with no serious accessibility finding."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from itertools import pairwise

import pytest
import pytest_asyncio
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, Page, expect

from rapport.contract.names import workflow_id
from rapport.money import format_money
from tests.web.browser import PHONE, browser, shot
from tests.web.portal_rig import Rig, portal_rig

__all__ = ["browser"]
LAST_FOUR = "0100"  # the test account's phone is +1 212 555 0100
pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


@pytest_asyncio.fixture(scope="module")
async def rig(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    async with portal_rig(tmp_path_factory.mktemp("portal")) as rigged:
        yield rigged


@pytest_asyncio.fixture
async def phone(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    page.set_default_timeout(15_000)
    yield page
    await context.close()


async def open_link(page: Page, link: str, answer: str = LAST_FOUR) -> None:
    await page.goto(link)
    await page.get_by_label("The last 4 digits of the phone number we texted").fill(answer)
    await page.get_by_role("button", name="Continue").click()


async def test_a_customer_pays_part_then_the_rest_and_the_journey_ends_paid(
    rig: Rig, phone: Page
) -> None:
    account_id, link = await rig.customer()
    assert len(link) <= 60  # the whole link in the text
    await phone.goto(link)
    await expect(phone.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    await expect(phone.get_by_text("300.00")).to_have_count(0)  # nothing about the debt
    await expect(phone.get_by_text("Other options")).to_have_count(0)
    await expect(phone.get_by_role("link", name="Stop messages")).to_be_visible()
    await shot(phone, "1-check")
    await phone.get_by_label("The last 4 digits of the phone number we texted").fill(LAST_FOUR)
    await phone.get_by_role("button", name="Continue").click()
    await expect(phone.get_by_role("button", name="Pay $300.00 now")).to_be_visible()
    await expect(phone.get_by_text(f"Account ending in {account_id[-4:]}")).to_be_visible()
    await expect(phone.get_by_role("link", name="(800) 555-0100")).to_have_attribute(
        "href", "tel:+18005550100"
    )
    await shot(phone, "2-options")
    await phone.get_by_role("link", name="Pay part of it").click()
    await phone.get_by_label("Amount (USD)").fill("20.001")
    await phone.get_by_role("button", name="Continue to payment").click()
    await expect(phone.get_by_role("alert")).to_contain_text("too many decimal places")
    await shot(phone, "3-pay-part")  # a mistake, said beside the field
    await phone.get_by_label("Amount (USD)").fill("20")
    await phone.get_by_role("button", name="Continue to payment").click()
    await expect(phone.get_by_text("20.00 USD")).to_be_visible()  # the provider's page
    await shot(phone, "4-provider")
    await phone.get_by_role("button", name="Pay").click()
    await expect(phone.get_by_role("heading", name="Thank you!")).to_be_visible()
    status = await rig.status_when(account_id, lambda s: s.payments)
    assert status.balance == Decimal("280.00")
    assert status.payments[0].payment_id.startswith("pi_dev_")
    assert status.payments[0].amount == Decimal("20.00")
    await phone.goto(link)
    await phone.get_by_role("button", name="Pay $280.00 now").click()
    await phone.get_by_role("button", name="Pay").click()
    await expect(
        phone.get_by_role("heading", name="Thank you! Your payment is in.")
    ).to_be_visible()
    await expect(phone.get_by_text("$280.00")).to_be_visible()  # a receipt: amount, date, reference
    await expect(phone.get_by_text(f"Account ending in {account_id[-4:]}")).to_be_visible()
    await shot(phone, "5-receipt")
    assert await _serious(Axe(), phone) == []
    result = await rig.client.get_workflow_handle(workflow_id(account_id)).result()
    assert result["outcome"] == "paid"
    assert result["paid"] is True
    await phone.goto(link)  # the link after paying: nothing to pay
    await expect(phone.get_by_text("nothing more to pay")).to_be_visible()


async def test_a_customer_picks_a_plan_and_the_journey_shows_it(rig: Rig, phone: Page) -> None:
    account_id, link = await rig.customer()
    await open_link(phone, link)
    await phone.get_by_role("link", name="Spread it over a few payments").click()
    await expect(phone.get_by_label("6 payments of $50.00")).to_be_visible()
    await shot(phone, "6-plan")
    await phone.get_by_label("6 payments of $50.00").check()
    await phone.get_by_role("button", name="Set up this plan").click()
    await expect(phone.get_by_role("heading", name="Your plan is set up")).to_be_visible()
    result = await rig.client.get_workflow_handle(workflow_id(account_id)).result()
    assert result["outcome"] == "plan_accepted"
    assert result["plan"]["installments"] == 6


async def test_the_first_text_leads_to_a_plan_kept_from_the_portal(rig: Rig, phone: Page) -> None:
    """Issue 25's door: the first text's link, one tap to the plans the journey's terms
    allow (no offer was sent), a choice, the confirmation page and text with the schedule,
    and the first installment paid from the portal; then the next installment waits there
    with its own button, whose amount no form can change."""
    account_id, link = await rig.customer("portal-plans")
    await open_link(phone, link)
    door = phone.get_by_role("link", name="Spread it over a few payments")
    await expect(door).to_be_visible()
    await shot(phone, "10-plan-door")
    await door.click()
    await expect(phone.get_by_label("3 payments of $100.00")).to_be_visible()
    await phone.get_by_label("3 payments of $100.00").check()
    await phone.get_by_label("Every two weeks").check()
    await shot(phone, "11-plan-choose")
    await phone.get_by_role("button", name="Set up this plan").click()
    await expect(phone.get_by_role("heading", name="Your plan is set up")).to_be_visible()
    await expect(phone.locator(".schedule li")).to_have_count(3)
    await shot(phone, "12-plan-confirmed")
    status = await rig.status_when(account_id, lambda s: s.plan is not None)
    assert status.plan is not None
    assert status.plan.every == "fortnightly"
    dues = [i.due for i in status.plan.installments]
    assert [(b - a).days for a, b in pairwise(dues)] == [14, 14]
    assert [i.amount for i in status.plan.installments] == [Decimal("100.00")] * 3
    confirmation = await rig.eventually(lambda: _text(rig, account_id, "on_plan.confirmation"))
    assert confirmation.count("$100.00") == 3  # the schedule, in the text too
    await phone.get_by_role("button", name="Pay the first installment ($100.00)").click()
    await expect(phone.get_by_text("100.00 USD")).to_be_visible()  # the provider's page
    await phone.get_by_role("button", name="Pay").click()
    await expect(phone.get_by_role("heading", name="Thank you!")).to_be_visible()
    status = await rig.status_when(
        account_id, lambda s: s.plan is not None and s.plan.installments[0].state == "paid"
    )
    assert status.balance == Decimal("200.00")
    thanks = await rig.eventually(lambda: _text(rig, account_id, "on_plan.thanks"))
    assert "$100.00" in thanks
    await phone.goto(link)
    await expect(phone.get_by_role("heading", name="Your plan")).to_be_visible()
    await expect(phone.get_by_text("Next payment: $100.00")).to_be_visible()
    assert await _serious(Axe(), phone) == []
    await shot(phone, "13-plan-next-installment")
    button = phone.get_by_role("button", name="Pay this installment ($100.00)")
    await phone.locator('form[action$="/installment"]').evaluate(  # an attacker's own amount
        "form => form.insertAdjacentHTML('beforeend', '<input name=amount value=0.01>')"
    )
    await button.click()
    await expect(phone.get_by_text("100.00 USD")).to_be_visible()  # the installment's, still


async def _text(rig: Rig, account_id: str, step: str) -> str | None:
    return next(
        (
            item.body
            for item in rig.texts.items.values()
            if item.account_id == account_id and item.step == step
        ),
        None,
    )


async def test_a_plan_the_journey_refuses_shows_why(rig: Rig, phone: Page) -> None:
    _, link = await rig.customer()
    await open_link(phone, link)
    await phone.goto(f"{link}/plan")
    await phone.locator("#plan-3").evaluate("radio => radio.value = '5'")  # not offered
    await phone.get_by_role("button", name="Set up this plan").click()
    await expect(phone.get_by_role("alert")).to_contain_text("We could not set up that plan")
    await expect(phone.get_by_role("alert")).to_contain_text("5")


async def test_a_customer_asks_for_a_call_and_outreach_pauses(rig: Rig, phone: Page) -> None:
    account_id, link = await rig.customer()
    await open_link(phone, link)
    await phone.get_by_role("link", name="Talk to someone").click()
    await shot(phone, "7-talk")
    await phone.get_by_role("button", name="Ask for a call").click()
    await expect(phone.get_by_role("heading", name="We will call you")).to_be_visible()
    status = await rig.status_when(account_id, lambda s: s.handoffs)
    assert status.callback_at is not None
    assert [h.queue for h in status.handoffs] == ["callback"]
    calls = [
        i for i in rig.texts.items.values() if i.kind == "handoff" and i.account_id == account_id
    ]
    assert len(calls) == 1
    assert "asked for a call" in calls[0].body


async def test_a_customer_stops_texts_and_a_later_journey_sends_none(rig: Rig, phone: Page) -> None:
    account_id, link = await rig.customer()
    await open_link(phone, link)
    await phone.get_by_role("link", name="Stop messages").click()
    await shot(phone, "8-opt-out")
    await phone.get_by_label("Text messages").check()
    await phone.get_by_role("button", name="Stop these messages").click()
    await expect(phone.get_by_role("heading", name="Done: no more texts")).to_be_visible()
    status = await rig.status_when(account_id, lambda s: s.suppressed_channels)
    assert status.suppressed_channels == ["sms"]
    await rig.client.get_workflow_handle(workflow_id(account_id)).terminate("test: next one")
    texts_before = len(rig.texts.items)
    await rig.journeys.start(rig.account(account_id), "portal")  # a later journey
    later = await rig.status_when(account_id, lambda s: s.skipped)
    assert later.skipped[0].reason == "opted_out"
    assert later.messages == []
    assert len(rig.texts.items) == texts_before
    assert rig.consent.refusal(account_id, "sms", None) is not None


async def test_spanish_from_the_account_and_english_on_request(rig: Rig, phone: Page) -> None:
    account_id, link = await rig.customer(customer__locale="es-MX")
    await phone.goto(link)
    await expect(phone.locator("html")).to_have_attribute("lang", "es")
    await expect(phone.get_by_role("heading", name="Confirme que es usted")).to_be_visible()
    await expect(phone.get_by_text("300.00")).to_have_count(0)
    await shot(phone, "es-1-check")
    await phone.get_by_label("Los últimos 4 dígitos del teléfono al que le escribimos").fill(
        LAST_FOUR
    )
    await phone.get_by_role("button", name="Continuar").click()
    amount = format_money(Decimal("300"), "USD", "es-MX")  # USD 300.00, as CLDR writes it
    await expect(phone.get_by_role("button", name=f"Pagar {amount} ahora")).to_be_visible()
    await expect(phone.get_by_text(f"Cuenta terminada en {account_id[-4:]}")).to_be_visible()
    await expect(phone.get_by_role("link", name="+1 800-555-0100")).to_be_visible()
    await shot(phone, "es-2-options")
    await phone.get_by_role("button", name=f"Pagar {amount} ahora").click()
    await phone.get_by_role("button", name="Pay").click()  # the dev provider speaks English
    await expect(
        phone.get_by_role("heading", name="¡Gracias! Su pago ya está registrado.")
    ).to_be_visible()
    await shot(phone, "es-5-receipt")
    assert await _serious(Axe(), phone) == []
    await phone.goto(f"{link}?lang=en")
    await expect(phone.get_by_text("nothing more to pay")).to_be_visible()
    await expect(phone.get_by_text("$300.00")).to_be_visible()  # the receipt, in English


async def test_a_locked_link_says_whom_to_call_and_when(rig: Rig, phone: Page) -> None:
    for locale, name, wrong in (
        ("en-US", "9-locked", "Continue"),
        ("es-MX", "es-9-locked", "Continuar"),
    ):
        _, link = await rig.customer(customer__locale=locale)
        await phone.goto(link)
        for _ in range(5):
            await phone.locator("#answer").fill("9999")
            await phone.get_by_role("button", name=wrong).click()
        heading = "Too many tries" if locale == "en-US" else "Demasiados intentos"
        await expect(phone.get_by_role("heading", name=heading)).to_be_visible()
        await expect(phone.locator('a[href="tel:+18005550100"]')).to_be_visible()
        await expect(phone.get_by_text("300.00")).to_have_count(0)
        await shot(phone, name)
        assert await _serious(Axe(), phone) == []


async def test_no_serious_accessibility_finding(rig: Rig, phone: Page) -> None:
    _, link = await rig.customer()
    axe = Axe()
    found: dict[str, list[str]] = {}
    await phone.goto(link)
    found["check"] = await _serious(axe, phone)
    await open_link(phone, link)
    for section in (
        "",
        "/pay-part",
        "/plan",
        "/talk",
        "/hardship",
        "/dispute",
        "/opt-out",
        "/update-details",
    ):
        await phone.goto(link + section)
        found[section or "options"] = await _serious(axe, phone)
    await phone.goto(link + "/pay-part")
    await phone.get_by_label("Amount (USD)").fill("0")
    await phone.get_by_role("button", name="Continue to payment").click()
    found["error"] = await _serious(axe, phone)
    assert {page: rules for page, rules in found.items() if rules} == {}


async def _serious(axe: Axe, page: Page) -> list[str]:
    results = await axe.run(page)
    return [
        v["id"]
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]
