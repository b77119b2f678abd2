"""The portal's sections, in one table: the pages of `/r/{token}/{slug}`, the template
each is shown with, whether it opens before the identity check, and which of a
message's named links (`links.<name>`) lands on it.

The worker writes links into messages (`rapport.security.links.portal_links`) and the
web app answers them (`rapport.web.portal`): both read these rows, so a link always
names a page the portal has. A new page is one row here, one entry in the portal's
`HANDLERS` (`rapport/web/portal/sections.py`, by slug), one template and its sentences
in the catalogs. A slug not in the table is a 404 page, never a default action.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapport.language.context import LINK_NAMES


@dataclass(frozen=True)
class Section:
    slug: str
    """The path after the link (`""`: the landing page, every option the journey allows)."""
    template: str
    """The page's template, in `rapport/web/portal/templates/`."""
    open: bool = False
    """Shown and taken before the identity check: only what says nothing about the debt
    (stopping messages must be as easy as the message says: Regulation F)."""
    link: str | None = None
    """The message's link name that opens this section (an email's named links; every
    link in a text is the landing page)."""


SECTIONS: tuple[Section, ...] = (
    Section("", "options.html"),
    Section("pay", "options.html", link="pay_now"),
    Section("pay-part", "pay_part.html", link="partial_payment"),
    Section("update-details", "update.html", link="update_payment_method"),
    Section("plan", "plan.html", link="plan"),
    Section("installment", "options.html"),  # pay the next installment of the plan
    Section("talk", "talk.html", link="contact_us"),
    Section("hardship", "hardship.html"),
    Section("dispute", "dispute.html"),
    Section("opt-out", "opt_out.html", open=True, link="opt_out"),
    Section("thanks", "done.html"),  # the receipt of the latest payment
    Section("sign-out", "done.html"),  # ends the session: a phone is often shared
)
BY_SLUG = {section.slug: section for section in SECTIONS}
BY_LINK = {section.link: section for section in SECTIONS if section.link}
assert len(BY_SLUG) == len(SECTIONS), "two sections with one slug"
assert set(BY_LINK) == set(LINK_NAMES), "every link name lands on one section"


def section(slug: str) -> Section | None:
    """The section of a path, or None: an unknown slug has no page and no action."""
    return BY_SLUG.get(slug)
