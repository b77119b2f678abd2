"""Every time zone a customer may be in: the zone they stated, the zones of their
address's region, and the zones their phone number may ring in (`phonenumbers`).
Regulation F 1006.6(b)(1)(i): where the location is unclear, a time is convenient only
if it is convenient at every location the creditor has reason to believe the customer
may be. Pure: data shipped with the packages."""

from __future__ import annotations

import phonenumbers
from phonenumbers import timezone as phone_zones

_NY, _CHI, _DEN, _LA = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
)
# ISO 3166-2 region -> its zones (a state or province that spans two lists both).
REGION_ZONES: dict[str, tuple[str, ...]] = {
    **{
        f"US-{s}": (_NY,)
        for s in [
            "CT",
            "DE",
            "DC",
            "GA",
            "ME",
            "MD",
            "MA",
            "NH",
            "NJ",
            "NY",
            "NC",
            "OH",
            "PA",
            "RI",
            "SC",
            "VT",
            "VA",
            "WV",
        ]
    },
    **{f"US-{s}": (_CHI,) for s in ["AL", "AR", "IL", "IA", "LA", "MN", "MS", "MO", "OK", "WI"]},
    **{f"US-{s}": (_DEN,) for s in ["CO", "MT", "NM", "UT", "WY"]},
    **{f"US-{s}": (_LA,) for s in ["CA", "NV", "WA"]},
    "US-AK": ("America/Anchorage", "America/Adak"),
    "US-AZ": ("America/Phoenix",),
    "US-FL": (_NY, _CHI),
    "US-HI": ("Pacific/Honolulu",),
    "US-ID": ("America/Boise", _LA),
    "US-IN": ("America/Indiana/Indianapolis", _CHI),
    "US-KS": (_CHI, _DEN),
    "US-KY": ("America/Kentucky/Louisville", _CHI),
    "US-MI": ("America/Detroit", "America/Menominee"),
    "US-NE": (_CHI, _DEN),
    "US-ND": (_CHI, _DEN),
    "US-OR": (_LA, "America/Boise"),
    "US-SD": (_CHI, _DEN),
    "US-TN": (_CHI, _NY),
    "US-TX": (_CHI, _DEN),
    "US-PR": ("America/Puerto_Rico",),
    "US-GU": ("Pacific/Guam",),
    "US-VI": ("America/St_Thomas",),
    "US-AS": ("Pacific/Pago_Pago",),
    "US-MP": ("Pacific/Saipan",),
    "CA-AB": ("America/Edmonton",),
    "CA-BC": ("America/Vancouver", "America/Dawson_Creek"),
    "CA-MB": ("America/Winnipeg",),
    "CA-NB": ("America/Moncton",),
    "CA-NL": ("America/St_Johns", "America/Goose_Bay"),
    "CA-NS": ("America/Halifax",),
    "CA-NT": ("America/Yellowknife",),
    "CA-NU": ("America/Iqaluit", "America/Rankin_Inlet", "America/Cambridge_Bay"),
    "CA-ON": ("America/Toronto", "America/Winnipeg"),
    "CA-PE": ("America/Halifax",),
    "CA-QC": ("America/Toronto", "America/Halifax"),
    "CA-SK": ("America/Regina",),
    "CA-YT": ("America/Whitehorse",),
}
# Countries of one zone (their address says their zone without a region).
COUNTRY_ZONES: dict[str, tuple[str, ...]] = {
    "IE": ("Europe/Dublin",),
    "GB": ("Europe/London",),
}


# A number that may ring in more zones than this does not place the customer: it is the
# whole country's list (a toll-free number, a mobile number in Russia or Australia).
MAX_PHONE_ZONES = 3


def phone_number_zones(number: str | None) -> tuple[str, ...]:
    """The zones a number in E.164 may ring in (its area code's); () when unknown or when
    the number does not place the customer. A country of one zone gives that zone (the
    package names London's for an Irish number: the same clock, the wrong name)."""
    if not number:
        return ()
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return ()
    country = phonenumbers.region_code_for_number(parsed)
    if country in COUNTRY_ZONES:
        return COUNTRY_ZONES[country]
    zones = tuple(z for z in phone_zones.time_zones_for_number(parsed) if z != "Etc/Unknown")
    return zones if len(zones) <= MAX_PHONE_ZONES else ()


def possible_zones(
    stated: str, country: str | None = None, region: str | None = None, phone: str | None = None
) -> tuple[str, ...]:
    """Every zone the customer may be in, the stated one first, without repeats."""
    found = [stated]
    found += REGION_ZONES.get(region or "", ()) or COUNTRY_ZONES.get(country or "", ())
    found += phone_number_zones(phone)
    return tuple(dict.fromkeys(found))
