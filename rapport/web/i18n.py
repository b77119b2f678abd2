"""The portal's languages: English and Spanish through Babel message catalogs
(`locales/<lang>/LC_MESSAGES/messages.po`, read at start; English is the source text),
the language from the account's locale unless the customer switched, and money and
dates formatted by Babel for that language and the account's region."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_skeleton, format_time
from babel.messages.pofile import read_po
from babel.numbers import format_currency
from markupsafe import Markup

LANGUAGES = {"en": "English", "es": "Español"}
LOCALES = Path(__file__).with_name("locales")


def _catalog(language: str) -> dict[str, str]:
    path = LOCALES / language / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return {}
    with path.open("rb") as file:
        catalog = read_po(file)
    messages: dict[str, str] = {}
    for message in catalog:
        if not message.id or not message.string:
            continue
        if isinstance(message.id, tuple):  # singular and plural (two forms, as in English)
            messages.update(zip(message.id, message.string, strict=False))
        else:
            messages[str(message.id)] = str(message.string)
    return messages


CATALOGS = {language: _catalog(language) for language in LANGUAGES}


def language_of(locale: str | None, chosen: str | None) -> str:
    if chosen in LANGUAGES:
        return str(chosen)
    tag = (locale or "en").replace("-", "_").split("_")[0].lower()
    return tag if tag in LANGUAGES else "en"


@dataclass(frozen=True)
class Speech:
    """Everything a page needs to speak one language."""

    language: str
    locale: Locale

    @classmethod
    def of(cls, account_locale: str | None, chosen: str | None) -> Speech:
        language = language_of(account_locale, chosen)
        region = (account_locale or "").replace("-", "_").partition("_")[2]
        try:
            locale = Locale.parse(f"{language}_{region}" if region else language)
        except (UnknownLocaleError, ValueError):
            locale = Locale.parse(language)
        return cls(language, locale)

    def gettext(self, text: str, **variables: Any) -> Markup:
        translated = CATALOGS[self.language].get(text, text) if self.language != "en" else text
        result = Markup(translated)  # the catalog is ours; the variables are escaped
        return result % variables if variables else result

    def ngettext(self, singular: str, plural: str, n: int, **variables: Any) -> Markup:
        return self.gettext(singular if n == 1 else plural, num=n, **variables)

    def money(self, amount: Decimal, currency: str) -> str:
        return format_currency(amount, currency, locale=self.locale)

    def day(self, value: date) -> str:
        return format_date(value, format="long", locale=self.locale)

    def moment(self, value: datetime, zone: Any) -> str:
        """A weekday, a date and a time as people of this locale write them."""
        local = value.astimezone(zone)
        weekday = format_date(local, "EEEE", locale=self.locale)
        day = format_skeleton("MMMMd", local, locale=self.locale)
        return f"{weekday}, {day}, {format_time(local, format='short', locale=self.locale)}"

    def context(self) -> dict[str, Any]:
        return {
            "gettext": self.gettext,
            "ngettext": self.ngettext,
            "_": self.gettext,
            "money": self.money,
            "day": self.day,
            "lang": self.language,
            "languages": LANGUAGES,
        }
