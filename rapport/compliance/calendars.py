"""Public holidays by country and region, for packs that close on them (`closed:
{holidays: true}`): the `holidays` package, computed (no I/O), cached per year."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays


@lru_cache(maxsize=256)
def _calendar(country: str, subdivision: str | None, year: int) -> dict[date, str]:
    try:
        found = holidays.country_holidays(country, subdiv=subdivision, years=year)
    except NotImplementedError:  # a country or region the package does not know
        return {}
    return {day: str(name) for day, name in found.items()}


def holiday(day: date, country: str, region: str | None = None) -> str | None:
    """The public holiday's name on `day` where the customer lives (`region` an ISO 3166-2
    code such as CA-ON), or None. A region the package does not know: the country's."""
    subdivision = region.split("-", 1)[1] if region else None
    names = _calendar(country, subdivision, day.year)
    if not names and subdivision is not None:
        names = _calendar(country, None, day.year)
    return names.get(day)
