"""Durations, money, accounts, plans and the YAML line map."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from rapport.language.account import Account
from rapport.language.durations import format_duration, parse_duration
from rapport.language.formatting import format_money
from rapport.language.loader import validate_model
from rapport.language.problems import DefinitionError
from rapport.language.yaml_source import parse_yaml
from rapport.policy.plans import plan_options, plan_rejection

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "accounts"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90m", timedelta(minutes=90)),
        ("36h", timedelta(hours=36)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("2w", timedelta(weeks=2)),
        ("0", timedelta()),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    assert parse_duration(format_duration(expected)) == expected


@pytest.mark.parametrize("text", ["", "3", "2 days", "1h1d", "-1d", "1.5h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("currency", "locale", "expected"),
    [
        ("USD", "en-US", "$1,234.50"),
        ("EUR", "fr-FR", "1\u202f234,50\xa0€"),
        ("GBP", "en-GB", "£1,234.50"),
    ],
)
def test_money_is_formatted_for_the_customer(currency: str, locale: str, expected: str) -> None:
    assert format_money(Decimal("1234.5"), currency, locale) == expected


def test_yaml_lines_follow_the_source() -> None:
    doc = parse_yaml("a: 1\nb:\n  - x\n  - {c: 2}\n", "f.yaml")
    assert doc.lines.line_of(("b", 1, "c")) == 4
    assert doc.lines.line_of(("b", 0)) == 3
    assert doc.lines.line_of(("b", 1, "missing")) == 4


def test_all_example_accounts_are_valid() -> None:
    from rapport.language.yaml_source import load_yaml

    for path in sorted(EXAMPLES.glob("*.yaml")):
        validate_model(Account, load_yaml(path))


def test_float_balance_is_rejected_with_advice() -> None:
    doc = parse_yaml("x", "a.json")
    doc.data = {
        "account_id": "A-1",
        "customer": {"first_name": "A", "timezone": "UTC"},
        "balance": 10.5,
        "currency": "USD",
        "days_past_due": 1,
    }
    with pytest.raises(DefinitionError) as raised:
        validate_model(Account, doc)
    assert "never a float" in str(raised.value)


@pytest.mark.parametrize(
    ("snippet", "field"),
    [
        ("currency: XXY", "currency"),
        ("customer: {first_name: A, timezone: Mars/Base}", "customer.timezone"),
        ("account_id: 'a b'", "account_id"),
        ("balance: '-3'", "balance"),
        ("colour: red", "colour"),
    ],
)
def test_account_errors_name_the_field(snippet: str, field: str) -> None:
    base = {
        "account_id": "A-1",
        "customer": "{first_name: A, timezone: UTC}",
        "balance": "'10.00'",
        "currency": "USD",
        "days_past_due": "1",
    }
    key = snippet.split(":")[0]
    base[key] = snippet.split(":", 1)[1].strip()
    text = "\n".join(f"{k}: {v}" for k, v in base.items())
    with pytest.raises(DefinitionError) as raised:
        validate_model(Account, parse_yaml(text, "acct.yaml"))
    assert [p.field for p in raised.value.problems] == [field]


def test_plan_options_in_cents_with_remainder_in_last() -> None:
    options = plan_options(Decimal("100.00"), [3, 6, 2], Decimal("20.00"))
    assert [(o.installments, o.amount, o.last_amount) for o in options] == [
        (2, Decimal("50.00"), Decimal("50.00")),
        (3, Decimal("33.33"), Decimal("33.34")),
    ]
    assert all(o.total == Decimal("100.00") for o in options)


def test_plan_rejections_explain_themselves() -> None:
    assert "no payment plan has been offered" in str(
        plan_rejection(3, None, Decimal("100"), Decimal("0"))
    )
    assert "not offered; offered: 2, 3" in str(
        plan_rejection(6, [2, 3], Decimal("100"), Decimal("0"))
    )
    assert "below the minimum" in str(plan_rejection(3, [3], Decimal("30"), Decimal("20")))
    assert plan_rejection(3, [3], Decimal("90"), Decimal("20")) is None


@pytest.mark.parametrize("text", ["=", "a: =", "- !!value x"])
def test_yaml_that_pyyaml_cannot_construct_is_a_clear_problem(text: str) -> None:
    with pytest.raises(DefinitionError) as raised:
        parse_yaml(text, "odd.yaml")
    assert all(p.file == "odd.yaml" and p.line == 1 for p in raised.value.problems)
