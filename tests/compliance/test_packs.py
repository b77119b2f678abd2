"""Rule packs as data: the shipped packs, their FILE:LINE validation, and a journey's
policy checked against the packs of the places it can reach."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rapport.cli import main
from rapport.compliance.fit import check_journey
from rapport.compliance.table import RuleBook, load_rulebook
from rapport.language.account import Account
from rapport.language.models import JourneyDefinition
from rapport.language.problems import DefinitionError
from rapport.language.samples import sample_account
from rapport.language.selection import choose_journey
from tests.journey_files import BASE, write_journey

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = load_rulebook(ROOT / "journeys" / "rules")


def definition(extra: str = "", steps: str = "") -> JourneyDefinition:
    text = BASE + steps
    data = __import__("yaml").safe_load(text + extra)
    return JourneyDefinition.model_validate(data)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_shipped_packs_load_with_a_citation_and_a_note_on_every_rule() -> None:
    assert {p.pack for p in SHIPPED.packs} == {"us-federal", "us-ma", "us-wa", "ca-on", "ie", "gb"}
    for pack, rule in SHIPPED.rules():
        assert rule.citation, (pack.pack, rule.id)
        assert rule.note, (pack.pack, rule.id)
    federal = SHIPPED.pack("us-federal")
    assert {r.citation for r in federal.rules} >= {
        "12 CFR 1006.6(b)(1)(i)",
        "12 CFR 1006.14(b)(2)(i)(A)",
        "12 CFR 1006.14(b)(2)(i)(B)",
        "12 CFR 1006.6(e)",
        "12 CFR 1006.6(c)",
    }
    ma = SHIPPED.pack("us-ma").rules[0]
    assert (ma.cap is not None and ma.cap.max, sorted(ma.governs())) == (2, ["sms", "voice"])


def test_packs_apply_by_country_and_region() -> None:
    assert [p.pack for p in SHIPPED.for_place("US", "US-MA")] == ["us-federal", "us-ma"]
    assert [p.pack for p in SHIPPED.for_place("US", "US-NY")] == ["us-federal"]
    assert [p.pack for p in SHIPPED.for_place(None)] == ["us-federal"]  # no address: US
    assert [p.pack for p in SHIPPED.for_place("CA", "CA-ON")] == ["ca-on"]
    assert [p.pack for p in SHIPPED.for_place("IE")] == ["ie"]


def test_a_broken_pack_is_reported_file_line_field(tmp_path: Path) -> None:
    (tmp_path / "xx.yaml").write_text(
        "pack: xx\nname: X\napplies_to: {country: US, region: CA-ON}\nsource: s\nrules:\n"
        "  - id: a\n    citation: c 1\n    note: a note\n    cap: {max: 0, per: 7d}\n"
        "  - id: a\n    citation: c 2\n    note: a note\n    window: {start: '09:00'}\n"
        "    cap: {max: 1, per: 1d}\n"
    )
    with pytest.raises(DefinitionError) as caught:
        load_rulebook(tmp_path)
    lines = [str(p) for p in caught.value.problems]
    assert f"{tmp_path / 'xx.yaml'}:3: applies_to: region CA-ON is not in country US" in lines
    assert any(":9: rules[0].cap.max:" in line for line in lines)
    assert any(":10: rules[1]: a rule has exactly one of:" in line for line in lines)


def test_the_pack_must_be_named_for_its_file(tmp_path: Path) -> None:
    (tmp_path / "yy.yaml").write_text(
        "pack: zz\nname: Z\napplies_to: {country: IE}\nsource: s\nrules:\n"
        "  - {id: a, citation: c 1, note: a note, duty: cease}\n"
    )
    with pytest.raises(DefinitionError) as caught:
        load_rulebook(tmp_path)
    assert [str(p) for p in caught.value.problems] == [
        f"{tmp_path / 'yy.yaml'}:1: pack: the pack in yy.yaml must be named 'yy'"
    ]


def test_a_voice_cap_of_10_in_7_days_is_an_error_naming_regulation_f() -> None:
    journey = definition(
        "policy:\n  caps:\n    - {channel: voice, max: 10, per: 7d}\n",
        "  - id: call\n    send: {channel: voice, template: call}\n",
    )
    findings = check_journey(journey, SHIPPED)
    errors = [f for f in findings if f.severity == "error"]
    assert len(errors) == 1
    assert errors[0].path == ("policy", "caps", 0)
    assert "12 CFR 1006.14(b)(2)(i)(A)" in errors[0].message
    assert "up to 10 messages on voice in 7 days" in errors[0].message


def test_the_engine_floor_keeps_a_journey_without_a_voice_cap_under_regulation_f() -> None:
    journey = definition("", "  - id: call\n    send: {channel: voice, template: call}\n")
    assert [f for f in check_journey(journey, SHIPPED) if f.severity == "error"] == []


def test_looser_than_a_regional_pack_is_a_warning_naming_the_pack() -> None:
    journey = definition("policy:\n  caps:\n    - {channel: sms, max: 3, per: 7d}\n")
    findings = check_journey(journey, SHIPPED)
    assert [(f.severity, f.pack) for f in findings] == [("warning", "us-ma"), ("warning", "us-wa")]
    assert "looser than pack us-ma (940 CMR 7.04(1)(f)" in findings[0].message
    assert "for accounts in US-MA" in findings[0].message
    assert findings[1].message.startswith("no cap limits email to 3 in 7 days")


def test_an_irish_journey_is_held_to_section_46_and_the_code() -> None:
    journey = definition(
        "countries: [IE]\npolicy:\n  contact_window: {start: '08:00', end: '21:00'}\n"
        "  caps:\n    - {channel: all, max: 4, per: 30d}\n",
        "  - id: call\n    send: {channel: voice, template: call}\n",
    )
    found = {(f.rule, f.path, f.severity) for f in check_journey(journey, SHIPPED)}
    assert found == {
        ("call-hours", ("policy", "contact_window", "start"), "error"),
        ("no-calls-sunday-holidays", ("policy", "days"), "error"),
        ("monthly-cap", ("policy", "caps", 0), "error"),
    }
    calm = definition(
        "countries: [IE]\npolicy:\n  contact_window: {start: '09:00', end: '20:00'}\n"
        "  days: [mon, tue, wed, thu, fri, sat]\n  caps:\n    - {channel: all, max: 3, per: 31d}\n",
        "  - id: call\n    send: {channel: voice, template: call}\n",
    )
    assert check_journey(calm, SHIPPED) == []


def test_an_irish_journey_is_not_held_to_regulation_f() -> None:
    journey = definition(
        "countries: [IE]\npolicy:\n  days: [mon]\n  contact_window: {start: '09:00', end: '21:00'}\n"
        "  caps:\n    - {channel: all, max: 3, per: 31d}\n    - {channel: voice, max: 10, per: 7d}\n",
        "  - id: call\n    send: {channel: voice, template: call}\n",
    )
    assert check_journey(journey, SHIPPED) == []


def test_an_empty_book_checks_nothing() -> None:
    journey = definition("policy:\n  caps:\n    - {channel: voice, max: 10, per: 7d}\n")
    assert check_journey(journey, RuleBook()) == []


def test_validate_names_the_rule_and_its_citation(tmp_path: Path) -> None:
    write_journey(
        tmp_path,
        BASE.replace(
            "segments:", "policy:\n  caps:\n    - {channel: voice, max: 10, per: 7d}\nsegments:"
        )
        + "  - id: call\n    send: {channel: voice, template: call}\n",
    )
    code, out = run("validate", str(tmp_path))
    assert code == 1, out
    assert (
        f"{tmp_path / 'journey.yaml'}:6: policy.caps[0]: the policy allows up to 10 messages on "
        "voice in 7 days: looser than 12 CFR 1006.14(b)(2)(i)(A)"
    ) in out
    assert "[pack us-federal, rule call-cap]" in out


def test_validate_warns_but_passes_for_a_regional_pack(tmp_path: Path) -> None:
    write_journey(
        tmp_path,
        BASE.replace(
            "segments:", "policy:\n  caps:\n    - {channel: sms, max: 3, per: 7d}\nsegments:"
        ),
    )
    code, out = run("validate", str(tmp_path))
    assert code == 0, out
    assert ": policy.caps[0]: warning: the policy allows up to 3 messages on sms" in out
    assert "ok  " in out


def test_journey_rules_lists_every_pack_and_rule() -> None:
    code, out = run("rules")
    assert code == 0
    for pack, rule in SHIPPED.rules():
        assert pack.pack in out
        assert rule.citation in out
        assert rule.note in out
    assert "not enforced yet: The engine does not send or track the notice" in out  # ca-on
    assert "not enforced yet: The engine does not hear of conversations" not in out
    code, out = run("rules", "--json")
    data = json.loads(out)
    federal = next(p for p in data["packs"] if p["pack"] == "us-federal")
    cap = next(r for r in federal["rules"] if r["id"] == "call-cap")
    assert cap == {
        "id": "call-cap",
        "kind": "cap",
        "citation": "12 CFR 1006.14(b)(2)(i)(A)",
        "note": "At most 7 calls about a debt in any 7 consecutive days.",
        "channels": ["voice"],
        "summary": "at most 7 per 7 days",
        "enforced": True,
        "not_enforced": None,
    }


def _account(country: str | None) -> Account:
    data = sample_account().model_dump(mode="json")
    if country:
        data["customer"]["address"] = {"country": country}
    return Account.model_validate(data)


def test_a_journey_runs_only_for_accounts_of_its_countries() -> None:
    us = definition("entry: {when: 'true'}\n")
    ie = definition("entry: {when: 'true'}\ncountries: [IE]\n").model_copy(update={"id": "irish"})
    assert choose_journey([us, ie], _account(None)) is us
    assert choose_journey([us, ie], _account("US")) is us
    assert choose_journey([us, ie], _account("IE")) is ie
    assert choose_journey([us, ie], _account("GB")) is None
