"""The portal's table of sections: one row per page (slug, template, open before the
check, the link name that lands there), read by the links a message carries and by the
web app, each row with its handler and its template."""

from __future__ import annotations

from rapport.contract.portal import BY_LINK, SECTIONS, section
from rapport.language.context import LINK_NAMES
from rapport.security.links import portal_links
from rapport.web.portal.sections import HANDLERS
from rapport.web.portal.site import HERE


def test_every_section_has_one_handler_and_a_template() -> None:
    assert [s.slug for s in SECTIONS] == list(HANDLERS)
    for row in SECTIONS:
        assert (HERE / "templates" / row.template).is_file(), row


def test_a_messages_links_name_sections_of_the_table() -> None:
    email = portal_links("https://pay.example.com/", "T" * 16, "email")
    text = portal_links("https://pay.example.com", "T" * 16, "sms")
    assert set(email) == set(text) == set(LINK_NAMES)
    assert email["plan"] == "https://pay.example.com/r/TTTTTTTTTTTTTTTT/plan"
    assert email["opt_out"].endswith("/opt-out")
    for name, url in email.items():
        slug = url.removeprefix("https://pay.example.com/r/" + "T" * 16).lstrip("/")
        assert section(slug) is BY_LINK[name]
        assert HANDLERS[slug].act is not None  # an email's link lands where a form is
    assert set(text.values()) == {"https://pay.example.com/r/TTTTTTTTTTTTTTTT"}


def test_only_stopping_messages_opens_before_the_check() -> None:
    assert [s.slug for s in SECTIONS if s.open] == ["opt-out"]  # (signing out needs a session)


def test_a_slug_outside_the_table_has_no_section() -> None:
    for slug in ("nothing", "Pay", "opt_out", "check", "pay/", "../pay", " pay"):
        assert section(slug) is None
        assert slug not in HANDLERS
