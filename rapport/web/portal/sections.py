"""What each section of the portal does, by the slug of its row in
`rapport.contract.portal.SECTIONS` (slug, template, open before the check, link name).

A handler has two parts: `act`, what a form sent to the section does (None: the section
takes no form, and a POST to it is a 405 page), and `shows`, what its page needs beyond
every page's context (None from it: not offered now, the landing page is shown
instead). `HANDLERS` must name every row and nothing else (checked at import), so a
section without a handler, or a handler without a page, cannot ship; a slug in no row
is a 404 page in `site`, never a default action.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from starlette.responses import Response

from rapport.client.journeys import JourneyError
from rapport.consent.book import ALL, Action
from rapport.contract.portal import BY_SLUG
from rapport.contract.records import PlanChoices
from rapport.language.models import FREQUENCIES
from rapport.web.journeys import Unavailable
from rapport.web.portal.amounts import chargeable, minimum_part, part_amount
from rapport.web.portal.calls import call_times
from rapport.web.portal.visit import Visit

if TYPE_CHECKING:
    from rapport.web.portal.site import Portal

Form = dict[str, str]
Act = Callable[["Portal", Visit, Form], Awaitable[Response]]
Shows = Callable[[Visit], dict[str, Any] | None]


def _nothing(visit: Visit) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Handler:
    act: Act | None = None
    shows: Shows = _nothing
    needs_journey: bool = True
    """False: the page and its form work after the journey ended (stopping messages holds
    for later journeys too)."""


@dataclass(frozen=True)
class Paid:
    """What a receipt shows of one payment (`_receipt.html`)."""

    amount: Decimal | None
    currency: str
    day: date
    reference: str | None  # None: given once the provider confirms it


# --- pages -------------------------------------------------------------------------------


def part_limits(visit: Visit) -> dict[str, Any]:
    assert visit.status is not None
    return {"minimum_part": minimum_part(visit.status)}


def plan_choices(visit: Visit) -> dict[str, Any] | None:
    """The plans the customer may choose now (the journey's terms, an offer standing, a
    change of plan), computed by the journey on the balance now; None: no plan now."""
    status = visit.status
    assert status is not None
    if status.plan_choices is not None:
        return {"choices": status.plan_choices}
    offer = status.plan_offer  # a journey from before plans were followed
    if offer is None:
        return None
    return {
        "choices": PlanChoices(options=offer.options, every=["monthly"], first_due=offer.first_due)
    }


def next_installment(visit: Visit) -> dict[str, Any] | None:
    """The installment of the running plan to pay next, and how much of it is left."""
    status = visit.status
    assert status is not None
    plan = status.plan
    if plan is None or plan.state != "running" or plan.next is None:
        return None
    return {"installment": plan.next}


def times_to_call(visit: Visit) -> dict[str, Any]:
    assert visit.status is not None
    return {"call_times": call_times(visit.status, visit.policy, visit.speech)}


def latest_payment(visit: Visit) -> dict[str, Any]:
    """The thanks page: a receipt of the latest payment the journey counted, while the
    journey still runs (more may be due), or once it ended."""
    return {"kind": "paying", "paid": last_paid(visit)}


def last_paid(visit: Visit) -> Paid | None:
    status = visit.status
    if status is None or not status.payments:
        return None
    payment = status.payments[-1]
    zone = ZoneInfo(status.timezone or "UTC")
    return Paid(
        payment.amount,
        status.currency or "USD",
        payment.at.astimezone(zone).date(),
        payment.payment_id,
    )


# --- actions -----------------------------------------------------------------------------


async def pay(portal: Portal, visit: Visit, form: Form) -> Response:
    """The whole balance (the options page's button)."""
    status = visit.status
    assert status is not None
    problem = chargeable(status.balance, status)
    if problem is not None:
        return portal.page(visit, "pay-part", 422, error=problem, entered="", readings=())
    return await portal.to_provider(visit, status, "payment", status.balance)


async def pay_part(portal: Portal, visit: Visit, form: Form) -> Response:
    """An amount the customer typed, read for their locale."""
    status = visit.status
    assert status is not None
    typed = form.get("amount", "")
    problem, amount, readings = part_amount(typed, status, str(visit.speech.locale))
    if problem is not None:
        return portal.page(visit, "pay-part", 422, error=problem, entered=typed, readings=readings)
    return await portal.to_provider(visit, status, "payment", amount)


async def update_details(portal: Portal, visit: Visit, form: Form) -> Response:
    assert visit.status is not None
    return await portal.to_provider(visit, visit.status, "setup")


async def pay_installment(portal: Portal, visit: Visit, form: Form) -> Response:
    """What is left of the plan's next installment: the amount comes from the journey,
    never from the form."""
    status = visit.status
    assert status is not None
    shown = next_installment(visit)
    if shown is None:
        return portal.page(visit, "", 409)
    amount = min(shown["installment"].left, status.balance)
    problem = chargeable(amount, status)
    if problem is not None:
        return portal.page(visit, "pay-part", 422, error=problem, entered="", readings=())
    return await portal.to_provider(visit, status, "payment", amount)


async def accept_plan(portal: Portal, visit: Visit, form: Form) -> Response:
    """The plan chosen (how many installments, how often): the journey checks it against
    what it allows now, and the confirmation page shows the schedule it set up."""
    try:
        installments = int(form.get("installments", ""))
    except ValueError:
        return portal.page(visit, "plan", 422, error="choose")
    every = form.get("every") or None
    if every is not None and every not in FREQUENCIES:
        return portal.page(visit, "plan", 422, error="choose")
    try:
        plan = await portal.journeys.accept_plan(visit.account, installments, every)
    except JourneyError as refused:
        return portal.page(visit, "plan", 409, refused=str(refused))
    return portal.render(visit, "done.html", kind="plan", plan=plan)


async def ask_for_call(portal: Portal, visit: Visit, form: Form) -> Response:
    assert visit.status is not None
    offered = dict(call_times(visit.status, visit.policy, visit.speech))
    chosen = form.get("at", "")
    if chosen not in offered:
        return portal.page(visit, "talk", 422, error="choose")
    await portal.journeys.signal(
        visit.account, "callback_requested", {"at": chosen, "reason": "asked on the portal"}
    )
    return portal.render(visit, "done.html", kind="talk", when=offered[chosen])


def telling(signal: str, kind: str) -> Act:
    """A section whose one button tells the journey `signal`, then thanks (`kind`)."""

    async def tell(portal: Portal, visit: Visit, form: Form) -> Response:
        await portal.journeys.signal(visit.account, signal, {"reason": "said on the portal"})
        return portal.render(visit, "done.html", kind=kind)

    return tell


async def opt_out(portal: Portal, visit: Visit, form: Form) -> Response:
    """Into the consent record first (it holds for every later journey), then the
    journey, if one runs."""
    link, channel = visit.link, form.get("channel", "")
    if channel not in ("sms", "email", "all"):
        return portal.page(visit, "opt-out", 422, error="choose")
    address = link.address if channel == link.channel else None
    action: Action = "cease" if channel == "all" else "opt_out"
    await asyncio.to_thread(
        portal.consent.record,
        action,
        ALL if channel == "all" else channel,
        "portal",
        account_id=link.account_id,
        address=address,
    )
    try:
        if channel == "all":
            await portal.journeys.signal(
                link.account_id, "cease_communication", {"reason": "asked on the portal"}
            )
        else:
            await portal.journeys.signal(link.account_id, "opt_out", {"channel": channel})
    except (JourneyError, Unavailable):
        pass  # committed: the journey's next send reads the store
    return portal.render(visit, "done.html", kind=f"opt_out_{channel}")


async def sign_out(portal: Portal, visit: Visit, form: Form) -> Response:
    """End this browser's session: the next person on the phone meets the check again
    (and the browser's back button no pages kept: the cookie changed)."""
    visit.signed_in, visit.cookie = False, None
    response = portal.render(visit, "done.html", kind="signed_out")
    response.delete_cookie(portal.session_cookie(visit.token), path=visit.base)
    return response


def _not_a_page(visit: Visit) -> None:
    return None  # a form's target only: opened, the landing page


HANDLERS: dict[str, Handler] = {
    "": Handler(),
    "pay": Handler(act=pay),
    "pay-part": Handler(act=pay_part, shows=part_limits),
    "update-details": Handler(act=update_details),
    "plan": Handler(act=accept_plan, shows=plan_choices),
    "installment": Handler(act=pay_installment, shows=next_installment),
    "talk": Handler(act=ask_for_call, shows=times_to_call),
    "hardship": Handler(act=telling("hardship_reported", "hardship")),
    "dispute": Handler(act=telling("dispute", "dispute")),
    "opt-out": Handler(act=opt_out, needs_journey=False),
    "thanks": Handler(shows=latest_payment),
    "sign-out": Handler(act=sign_out, shows=_not_a_page, needs_journey=False),
}
assert set(HANDLERS) == set(BY_SLUG), "every section has one handler, every handler a row"
