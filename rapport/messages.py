"""What a template sees: the render context of one message.

Shared by `journey preview`, the validator and the `send_message` activity,
so a designer previews exactly what a customer will get.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from rapport.language.account import Account
from rapport.language.formatting import format_day, format_money
from rapport.language.types import Channel
from rapport.links import LinkSigner
from rapport.policy.plans import PlanOption

LINK_LIFETIME = timedelta(days=30)


class PlanOffered(BaseModel):
    """A plan offer as made to the customer; kept in the workflow's state."""

    model_config = ConfigDict(frozen=True)

    options: list[PlanOption]
    offered: list[int]
    min_installment: Decimal
    first_due: date


def opt_out_text(channel: Channel, links: Mapping[str, str]) -> str:
    """How a customer stops messages on `channel`, as the message itself says it."""
    texts = {
        "email": f"To stop emails about this account, visit {links['opt_out']}",
        "sms": "Reply STOP to opt out of texts.",
        "voice": "To stop these calls, say 'stop calling' or press 9.",
        "letter": f"To stop letters, tell us at {links['contact_us']}",
        "push": "You can turn these notifications off in the app's settings.",
        "webhook": f"To stop these messages, visit {links['opt_out']}",
    }
    return texts[channel]


def message_context(
    account: Account,
    balance: Decimal,
    channel: Channel,
    signer: LinkSigner,
    sent_at: datetime,
    plan: PlanOffered | None = None,
) -> dict[str, Any]:
    locale, currency = account.customer.locale, account.currency
    links = signer.links(account.account_id, sent_at + LINK_LIFETIME)
    minimum = min(account.minimum_due or balance, balance)
    account_view = account.model_dump(mode="python")
    account_view["balance"] = balance
    context: dict[str, Any] = {
        "account": account_view,
        "customer": account_view["customer"],
        "balance": format_money(balance, currency, locale),
        "minimum_due": format_money(minimum, currency, locale),
        "links": {k: v for k, v in links.items() if k != "opt_out"},
        "opt_out": opt_out_text(channel, links),
    }
    if plan is not None:
        context["plan"] = {
            "options": [
                {
                    "installments": o.installments,
                    "amount": format_money(o.amount, currency, locale),
                    "last_amount": format_money(o.last_amount, currency, locale),
                    "total": format_money(o.total, currency, locale),
                    "first_due": format_day(plan.first_due, locale),
                }
                for o in plan.options
            ],
            "first_due": format_day(plan.first_due, locale),
        }
    return context

