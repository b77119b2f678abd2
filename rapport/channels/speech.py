"""What the channels say on their own (an opt-out line, the answer to an SMS HELP) in
the customer's language: Babel message catalogs in `locales/<lang>/LC_MESSAGES/
messages.po`, English being the source text. Read once at import.

To add a language: copy `locales/es/` to `locales/<lang>/`, translate every `msgstr`,
and add the language to `LANGUAGES` (docs/consent.md). A locale whose language has no
catalog speaks English.
"""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LANGUAGES = ("en", "es")
LOCALES = Path(__file__).with_name("locales")


def translations(locales: Path, language: str) -> NullTranslations:
    """`babel.support.Translations` of `locales/<language>/LC_MESSAGES/messages.po`,
    compiled in memory (the .po in the source tree and in the installed package is all
    there is: no build step, nothing to forget to compile); none for English."""
    path = locales / language / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as file:
        catalog = read_po(file, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


_CATALOGS = {language: translations(LOCALES, language) for language in LANGUAGES}


def language_of(locale: str | None) -> str:
    """`es-MX` -> `es`; a language without a catalog -> `en`."""
    language = (locale or "en").replace("_", "-").split("-")[0].lower()
    return language if language in _CATALOGS else "en"


def say(text: str, locale: str | None) -> str:
    """`text` (English, as written in the channel's module) in the locale's language."""
    return _CATALOGS[language_of(locale)].gettext(text)
