"""The one money module: minor units per currency, exact conversions, installments that
add up to the minor unit, and what customers type in their locale read strictly."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rapport.money import (
    BadAmount,
    NotInUnits,
    format_money,
    from_minor,
    in_units,
    installments,
    parse_amount,
    precision,
    read_typed,
    to_minor,
    too_precise,
    unit,
)
from rapport.policy.plans import plan_options


def test_each_currency_has_its_own_minor_units() -> None:
    assert [precision(c) for c in ("USD", "EUR", "JPY", "KWD", "CLP")] == [2, 2, 0, 3, 0]
    assert [unit(c) for c in ("USD", "JPY", "KWD")] == [
        Decimal("0.01"),
        Decimal("1"),
        Decimal("0.001"),
    ]


def test_minor_units_both_ways_never_round() -> None:
    assert to_minor(Decimal("300.00"), "USD") == 30000
    assert to_minor(Decimal("1000"), "JPY") == 1000
    assert to_minor(Decimal("1.234"), "KWD") == 1234
    assert from_minor(30000, "USD") == Decimal("300.00")
    assert str(from_minor(30000, "USD")) == "300.00"
    assert str(from_minor(1234, "KWD")) == "1.234"
    with pytest.raises(NotInUnits):
        to_minor(Decimal("333.33"), "JPY")
    with pytest.raises(NotInUnits):
        to_minor(Decimal("1.2345"), "KWD")
    assert to_minor(Decimal("1.2300"), "CLF", exponent=2) == 123  # a provider's coarser unit
    with pytest.raises(NotInUnits):  # was rounded to 123 (1.23 CLF charged for 1.2345)
        to_minor(Decimal("1.2345"), "CLF", exponent=2)


def test_a_billing_zero_with_many_places_is_zero() -> None:
    assert in_units(Decimal("0.00000000"), "USD") == 0
    assert str(in_units(Decimal("0.00000000"), "USD")) == "0.00"
    assert str(in_units(Decimal("12.5000"), "USD")) == "12.50"
    with pytest.raises(NotInUnits):
        in_units(Decimal("12.505"), "USD")


def test_too_precise_names_the_currency() -> None:
    assert too_precise(Decimal("1.5"), "JPY") == "1.5 has more decimal places than JPY allows (0)"
    assert too_precise(Decimal("1.234"), "KWD") is None


@pytest.mark.parametrize(
    ("total", "count", "currency", "parts"),
    [
        ("1000", 3, "JPY", ["333", "333", "334"]),
        ("100.00", 3, "USD", ["33.33", "33.33", "33.34"]),
        ("10.000", 3, "KWD", ["3.333", "3.333", "3.334"]),
        ("0.05", 2, "EUR", ["0.02", "0.03"]),
        ("50.00", 1, "USD", ["50.00"]),
    ],
)
def test_installments_are_whole_minor_units_with_the_remainder_last(
    total: str, count: int, currency: str, parts: list[str]
) -> None:
    assert [str(p) for p in installments(Decimal(total), count, currency)] == parts


@given(
    st.integers(min_value=1, max_value=10**14),
    st.integers(min_value=1, max_value=120),
    st.sampled_from(["USD", "JPY", "KWD", "EUR", "CLP"]),
)
def test_installments_always_add_up_to_the_minor_unit(
    minor: int, count: int, currency: str
) -> None:
    total = from_minor(minor, currency)
    parts = installments(total, count, currency)
    assert sum(parts) == total
    assert len(parts) == count
    assert all(to_minor(p, currency) >= 0 for p in parts)
    assert parts[-1] >= parts[0]


def test_a_yen_plan_is_offered_in_whole_yen() -> None:
    options = plan_options(Decimal("1000"), [3], Decimal("0"), "JPY")
    assert (options[0].amount, options[0].last_amount) == (Decimal("333"), Decimal("334"))
    legacy = plan_options(Decimal("1000"), [3], Decimal("0"))  # cents, for old journeys' replay
    assert legacy[0].amount == Decimal("333.33")


@pytest.mark.parametrize(
    ("text", "locale", "currency", "amount"),
    [
        ("1,200", "en-US", "USD", "1200.00"),
        ("$20", "en-US", "USD", "20.00"),
        ("US$ 20", "en-US", "USD", "20.00"),
        ("20", "en-US", "USD", "20.00"),
        ("1,234,567.89", "en-US", "USD", "1234567.89"),
        ("1.200,50", "es-ES", "EUR", "1200.50"),
        ("1.200", "es-ES", "EUR", "1200.00"),
        ("20,50", "es-ES", "EUR", "20.50"),
        ("20 €", "es-ES", "EUR", "20.00"),
        ("$20", "es-MX", "MXN", "20.00"),
        ("1,200", "es-MX", "MXN", "1200.00"),
        ("$20", "es-US", "USD", "20.00"),
        ("1 200,50", "fr-FR", "EUR", "1200.50"),
        ("1'200.50", "de-CH", "CHF", "1200.50"),
        ("¥1,000", "ja-JP", "JPY", "1000"),
        ("\uff12\uff10", "ja-JP", "JPY", "20"),  # full-width digits, as a Japanese keyboard types
        ("1.234", "en-US", "KWD", "1.234"),
        ("1,00,000", "en-IN", "INR", "100000.00"),
    ],
)
def test_amounts_as_customers_type_them(text: str, locale: str, currency: str, amount: str) -> None:
    read = read_typed(text, locale, currency)
    assert str(read) == amount


@pytest.mark.parametrize(
    ("text", "locale", "currency", "kind", "readings"),
    [
        ("1,200", "es-ES", "EUR", "ambiguous", ("1.200,00", "1,20")),
        ("1.200", "en-US", "USD", "ambiguous", ("1,200.00", "1.20")),
        ("1.200,50", "en-US", "USD", "ambiguous", ("1,200.50",)),
        ("1.200,50", "es-MX", "MXN", "ambiguous", ("1,200.50",)),
        ("20,50", "en-US", "USD", "ambiguous", ("20.50",)),
        ("1.5", "es-ES", "EUR", "ambiguous", ("1,50",)),
        ("20.001", "en-US", "USD", "too_precise", ()),
        ("0.001", "en-US", "USD", "too_precise", ()),
        ("1.5", "en-US", "JPY", "too_precise", ()),
        ("20 €", "en-US", "USD", "other_currency", ()),
        ("-5", "en-US", "USD", "not_a_number", ()),
        ("1e3", "en-US", "USD", "not_a_number", ()),
        ("NaN", "en-US", "USD", "not_a_number", ()),
        ("abc", "en-US", "USD", "not_a_number", ()),
        ("", "en-US", "USD", "not_a_number", ()),
        ("1234567890123", "en-US", "USD", "out_of_bounds", ()),
        # a typo of 20.00: "2,000.00" was offered, a hundred times what was meant
        ("20.00.00", "en-US", "USD", "not_a_number", ()),
        ("20,00,00", "es-ES", "EUR", "not_a_number", ()),
        ("1.20.50", "en-US", "USD", "not_a_number", ()),
    ],
)
def test_what_could_be_misread_is_refused_with_its_readings(
    text: str, locale: str, currency: str, kind: str, readings: tuple[str, ...]
) -> None:
    with pytest.raises(BadAmount) as refused:
        read_typed(text, locale, currency)
    assert refused.value.kind == kind
    assert refused.value.suggestions == readings


@pytest.mark.slow
@given(st.text(max_size=30), st.sampled_from(["en-US", "es-ES", "es-MX", "fr-FR", "ja-JP"]))
def test_reading_anything_typed_refuses_or_returns_an_amount_in_units(
    text: str, locale: str
) -> None:
    try:
        value = read_typed(text, locale, "EUR")
    except BadAmount:
        return
    assert value >= 0
    assert in_units(value, "EUR") == value


def test_programs_write_amounts_plainly() -> None:
    assert parse_amount("45.00") == Decimal("45.00")
    for bad in ("1e3", "-1", "0", "NaN", "1,000", "1234567890123"):
        with pytest.raises(BadAmount):
            parse_amount(bad)


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "shown"),
    [
        ("300", "USD", "es-MX", "USD\xa0300.00"),  # CLDR's spacing (Babel alone: USD300.00)
        ("300", "USD", "en-US", "$300.00"),
        ("300", "USD", "es-ES", "300,00\xa0US$"),
        ("300", "MXN", "es-MX", "$300.00"),
        ("300", "MXN", "en-US", "MX$300.00"),  # a sign, not a letter, beside the digit
        ("300", "MXN", "es-US", "MXN\xa0300.00"),
        ("1234.5", "EUR", "fr-FR", "1\u202f234,50\xa0€"),
        ("1234.5", "CHF", "de-CH", "CHF\xa01'234.50"),
        ("1000", "JPY", "ja-JP", "\uffe51,000"),
    ],
)
def test_amounts_are_shown_as_cldr_writes_them_for_the_locale(
    amount: str, currency: str, locale: str, shown: str
) -> None:
    assert format_money(Decimal(amount), currency, locale) == shown


@given(
    st.integers(min_value=1, max_value=10**9),
    st.sampled_from(["USD", "EUR", "MXN", "JPY", "KWD", "CHF"]),
    st.sampled_from(["en-US", "es-MX", "es-ES", "es-US", "fr-FR", "de-CH", "ja-JP"]),
)
def test_what_the_portal_shows_a_customer_can_type_back(
    minor: int, currency: str, locale: str
) -> None:
    amount = from_minor(minor, currency)
    assert read_typed(format_money(amount, currency, locale), locale, currency) == amount
