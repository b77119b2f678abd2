"""Every sentence of the portal has its Spanish translation, with the same placeholders
and every plural form; the catalog holds nothing the portal no longer says; money,
dates, times and their zones follow the account's locale; and an installed package
carries the templates, the stylesheet and the catalogs."""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.extract import extract_from_dir, extract_from_file
from babel.messages.pofile import read_po

from rapport.runtime.settings import Settings
from rapport.web.portal.speech import LANGUAGES, LOCALES, Contact, Speech, language_of

ROOT = Path(__file__).resolve().parents[2]
PORTAL = ROOT / "rapport" / "web" / "portal"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def portal_messages() -> list[str | tuple[str, ...]]:
    """What `make catalogs` extracts: the templates, the portal's Python, the unsubscribe page."""
    found = [
        message
        for _, _, message, _, _ in extract_from_dir(
            str(PORTAL),
            method_map=[("**.py", "python"), ("**/templates/**.html", "jinja2")],
            options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
        )
    ]
    found += [m for _, m, _, _ in extract_from_file("python", ROOT / "rapport/web/unsubscribe.py")]
    return found


TRANSLATED = [language for language in LANGUAGES if language != "en"]  # English is the source


def catalog(language: str) -> dict[object, object]:
    with (LOCALES / language / "LC_MESSAGES" / "messages.po").open("rb") as file:
        return {m.id: m.string for m in read_po(file, locale=language) if m.id}


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_sentence_has_its_translation_with_the_same_placeholders(language: str) -> None:
    messages, catalog_ = portal_messages(), catalog(language)
    assert len(messages) > 60
    assert [m for m in messages if not catalog_.get(m)] == []
    for message in messages:
        forms = catalog_[message] if isinstance(message, tuple) else (catalog_[message],)
        sources = message if isinstance(message, tuple) else (message,)
        assert isinstance(forms, tuple | str)
        assert all(forms), f"a plural form of {message!r} is empty"  # Spanish has three
        wanted = set(PLACEHOLDER.findall(sources[-1])) - {"num"}
        for form in forms:
            assert set(PLACEHOLDER.findall(form)) - {"num"} == wanted, message


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_catalog_holds_only_what_the_portal_says(language: str) -> None:
    assert set(catalog(language)) - set(portal_messages()) == set()  # make catalogs drops them


def test_the_language_comes_from_the_locale_unless_the_customer_chose() -> None:
    assert language_of("es-MX", None) == "es"
    assert language_of("fr-FR", None) == "en"
    assert language_of("es-MX", "en") == "en"
    assert language_of("en-US", "xx") == "en"
    spain = Speech.of("es-ES", None)
    assert spain.money(Decimal("1234.5"), "EUR") == "1.234,50\xa0€"
    assert spain.day(date(2026, 12, 8)) == "8 de diciembre de 2026"
    assert str(spain.gettext("Pay %(amount)s now", amount="<b>")) == "Pagar &lt;b&gt; ahora"


def test_mexico_reads_dollars_as_cldr_writes_them() -> None:
    assert Speech.of("es-MX", None).money(Decimal("300"), "USD") == "USD\xa0300.00"
    assert Speech.of("es-MX", "en").money(Decimal("300"), "USD") == "$300.00"  # CLDR has no en-MX
    assert Speech.of("en-US", None).money(Decimal("300"), "USD") == "$300.00"


def test_plurals_follow_the_languages_rule() -> None:
    sentence = (
        "That does not match what we have. You can try %(num)s more time.",
        "That does not match what we have. You can try %(num)s more times.",
    )
    english, spanish_ = Speech.of("en-US", None), Speech.of("es-MX", None)
    assert str(english.ngettext(*sentence, 1)).endswith("try 1 more time.")
    assert str(english.ngettext(*sentence, 4)).endswith("try 4 more times.")
    assert str(spanish_.ngettext(*sentence, 1)).endswith("1 vez más.")
    assert str(spanish_.ngettext(*sentence, 4)).endswith("4 veces más.")
    plan = ("%(num)s payment of %(amount)s", "%(num)s payments of %(amount)s")
    assert str(spanish_.ngettext(*plan, 6, amount="$50")) == "6 pagos de $50"


def test_moments_carry_their_zone_and_hours_their_days() -> None:
    friday = datetime(2026, 12, 4, 21, tzinfo=UTC)
    new_york = ZoneInfo("America/New_York")
    assert (
        Speech.of("en-US", None).moment(friday, new_york) == "Friday, December 4, 4:00\u202fPM EST"
    )
    assert (
        Speech.of("es-MX", None).moment(friday, new_york)
        == "viernes, 4 de diciembre, 4:00\u202fp.m. (hora estándar oriental)"
    )
    creditor = Settings(
        creditor_hours="mon-fri 08:00-20:00, sat 09:00-13:00", creditor_email="help@example.com"
    ).creditor()
    english = Contact.of(creditor, Speech.of("en-US", None))
    assert english.phone == "(800) 555-0100"
    assert english.tel == "tel:+18005550100"
    assert english.email == "help@example.com"
    assert english.hours == (
        "Monday to Friday, 8:00\u202fAM\u2009\u2013\u20098:00\u202fPM and "
        "Saturday, 9:00\u202fAM\u2009\u2013\u20091:00\u202fPM (Eastern Time)"
    )
    spain = Contact.of(creditor, Speech.of("es-ES", None))
    assert spain.phone == "+1 800-555-0100"  # dialled from abroad
    assert spain.hours == (
        "de lunes a viernes, 8:00\u201320:00 y sábado, 9:00\u201313:00 (hora oriental)"
    )


def test_an_installed_package_carries_every_file_the_portal_reads() -> None:
    """setuptools' package data (pyproject.toml) names the templates, the stylesheet and
    the catalogs (compiled in memory at start: no build step to forget)."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        data = tomllib.load(file)["tool"]["setuptools"]["package-data"]["rapport.web.portal"]
    carried = {path for pattern in data for path in PORTAL.glob(pattern)}
    needed = {
        path
        for folder in ("templates", "static", "locales")
        for path in (PORTAL / folder).rglob("*")
        if path.is_file()
    }
    assert needed
    assert needed <= carried
