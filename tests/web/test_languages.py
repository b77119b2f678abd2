"""Every sentence of the portal has its Spanish translation, with the same placeholders;
money and dates follow the account's locale."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from babel.messages.extract import extract_from_dir

from rapport.web.i18n import CATALOGS, Speech, language_of

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def template_messages() -> list[str]:
    found: list[str] = []
    for _, _, message, _, _ in extract_from_dir(
        "rapport/web/templates",
        method_map=[("**.html", "jinja2")],
        options_map={"**.html": {"extensions": "jinja2.ext.i18n"}},
    ):
        found.extend(message if isinstance(message, tuple) else [message])
    return found


def test_every_sentence_has_a_spanish_translation_with_the_same_placeholders() -> None:
    messages = template_messages()
    assert len(messages) > 60
    missing = [m for m in messages if m not in CATALOGS["es"]]
    assert missing == []
    for message in messages:
        assert set(PLACEHOLDER.findall(message)) == set(
            PLACEHOLDER.findall(CATALOGS["es"][message])
        ), message


def test_the_language_comes_from_the_locale_unless_the_customer_chose() -> None:
    assert language_of("es-MX", None) == "es"
    assert language_of("fr-FR", None) == "en"
    assert language_of("es-MX", "en") == "en"
    assert language_of("en-US", "xx") == "en"
    spanish = Speech.of("es-ES", None)
    assert spanish.money(Decimal("1234.5"), "EUR") == "1.234,50\xa0€"
    assert spanish.day(date(2026, 12, 8)) == "8 de diciembre de 2026"
    assert str(spanish.gettext("Pay %(amount)s now", amount="<b>")) == "Pagar &lt;b&gt; ahora"
