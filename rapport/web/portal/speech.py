"""The portal's languages: English and Spanish through Babel's `Translations`
(`locales/<lang>/LC_MESSAGES/messages.po`, compiled in memory at start; English is the
source text), the language from the account's locale unless the customer switched, and
money, dates, times and their zones formatted by Babel for that language and the
account's region (money through `rapport.money.format_money`, CLDR's spacing included).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import (
    format_date,
    format_interval,
    format_skeleton,
    format_time,
    get_day_names,
    get_timezone_name,
)
from babel.lists import format_list
from markupsafe import Markup

from rapport.channels.speech import translations
from rapport.money import format_money
from rapport.runtime.creditor import Creditor, Opening

LANGUAGES = {"en": "English", "es": "Español"}
_MINUS = re.compile(r"-(?=\d)")
LOCALES = Path(__file__).with_name("locales")
CATALOGS = {language: translations(LOCALES, language) for language in LANGUAGES}


def language_of(locale: str | None, chosen: str | None) -> str:
    if chosen in LANGUAGES:
        return str(chosen)
    tag = (locale or "en").replace("-", "_").split("_")[0].lower()
    return tag if tag in LANGUAGES else "en"


def browser_language(header: str) -> str | None:
    """The first language of an `Accept-Language` header the portal speaks."""
    for part in header.split(","):
        tag = part.split(";")[0].strip().split("-")[0].lower()
        if tag in LANGUAGES:
            return tag
    return None


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
        """Jinja's "new style" gettext: the catalog's sentence (ours, so markup) with the
        variables escaped into it."""
        result = Markup(CATALOGS[self.language].gettext(text))
        return result % variables if variables else result

    def ngettext(self, singular: str, plural: str, n: int, **variables: Any) -> Markup:
        """The plural form the language's rule picks for `n` (Spanish has three)."""
        result = Markup(CATALOGS[self.language].ngettext(singular, plural, n))
        return result % {"num": n, **variables}

    def money(self, amount: Decimal, currency: str) -> str:
        return format_money(amount, currency, self.locale)

    def day(self, value: date) -> str:
        return format_date(value, format="long", locale=self.locale)

    def moment(self, value: datetime, zone: ZoneInfo) -> str:
        """A weekday, a date, a time and its zone as people of this locale write them:
        `Friday, December 4, 4:00 PM EST`, `viernes, 4 de diciembre, 16:00 (hora
        estándar de Europa central)`."""
        local = value.astimezone(zone)
        weekday = format_date(local, "EEEE", locale=self.locale)
        day = format_skeleton("MMMMd", local, locale=self.locale)
        at = format_time(local, format="short", locale=self.locale)
        return f"{weekday}, {day}, {at} {self.zone(local)}"

    def zone(self, moment: datetime) -> str:
        """The zone of a moment: its abbreviation where the locale has one people know
        (`EST`, `CET`), else its name in parentheses (`(hora estándar oriental)`)."""
        short = get_timezone_name(moment, "short", locale=self.locale)
        if short.isalpha() and short.isupper():
            return short
        named = get_timezone_name(moment, "long", locale=self.locale)
        return f"({_MINUS.sub(chr(0x2212), named)})"  # a minus sign: never wraps

    def hours(self, openings: tuple[Opening, ...], zone: ZoneInfo) -> str:
        """When the creditor's phone is answered: `Monday to Friday, 8:00 AM to 8:00 PM`,
        several joined as the language lists them, then the zone (`Eastern Time`)."""
        days = get_day_names("wide", locale=self.locale)
        clock = "hm" if "h" in self.locale.time_formats["short"].pattern else "Hm"
        parts = []
        for opening in openings:
            span = (
                str(days[opening.first])
                if opening.first == opening.last
                else self.gettext(
                    "%(first)s to %(last)s", first=days[opening.first], last=days[opening.last]
                )
            )
            times = format_interval(opening.opens, opening.closes, clock, locale=self.locale)
            parts.append(f"{span}, {times}")
        generic = get_timezone_name(zone, "long", locale=self.locale)
        return f"{format_list(parts, locale=self.locale)} ({generic})"

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


@dataclass(frozen=True)
class Contact:
    """The creditor's contact details as one page shows them, in its language."""

    name: str
    phone: str
    tel: str
    hours: str
    email: str | None

    @classmethod
    def of(cls, creditor: Creditor, speech: Speech) -> Contact:
        return cls(
            creditor.name,
            creditor.phone_for(speech.locale.territory),
            f"tel:{creditor.phone_e164}",
            speech.hours(creditor.hours, creditor.timezone),
            creditor.email,
        )
