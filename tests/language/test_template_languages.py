"""Templates per language: `NAME.LANG.CHANNEL.j2` for customers in that language, the
default `NAME.CHANNEL.j2` for everyone else; each language's version validated."""

from __future__ import annotations

from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from rapport.language.loader import load_journey
from rapport.language.templates import TemplateBundle
from tests.journey_files import BASE, problems_of, write_journey
from tests.scenarios import account, simulate_journey

SPANISH = {
    "nudge.es.sms.j2": "Hola {{ customer.first_name }} {{ customer.last_name }}: "
    "{{ balance }}. {{ links.pay_now }} {{ opt_out }}\n",
}


def test_the_file_is_chosen_by_name_channel_and_the_locales_language() -> None:
    bundle = TemplateBundle(
        {"nudge.sms.j2": "", "nudge.es.sms.j2": "", "nudge.pt.email.j2": "", "nudge.email.j2": ""}
    )
    assert bundle.file_for("nudge", "sms", "es-MX") == "nudge.es.sms.j2"
    assert bundle.file_for("nudge", "sms", "es") == "nudge.es.sms.j2"
    assert bundle.file_for("nudge", "sms", "es_ES") == "nudge.es.sms.j2"
    assert bundle.file_for("nudge", "sms", "fr-FR") == "nudge.sms.j2"
    assert bundle.file_for("nudge", "sms", None) == "nudge.sms.j2"
    assert bundle.file_for("nudge", "sms", "pt-BR") == "nudge.sms.j2"  # pt has email only
    assert bundle.languages("nudge", "sms") == ["es"]


def test_each_languages_version_is_validated(tmp_path: Path) -> None:
    broken = {"nudge.es.sms.j2": "Hola {{ customer.nombre }}\n{{ links.pay_now }}"}
    problems = problems_of(write_journey(tmp_path, templates=broken))
    assert [(Path(p.file).name, p.line, p.message) for p in problems] == [
        (
            "nudge.es.sms.j2",
            1,
            "customer has no 'nombre'; it has first_name, last_name, email, phone, timezone, "
            "locale, address",
        )
    ]


def test_a_language_alone_is_not_enough(tmp_path: Path) -> None:
    path = write_journey(tmp_path, templates={**SPANISH, "nudge.sms.j2": None})
    [problem] = problems_of(path)
    assert problem.message == (
        "template nudge.sms.j2 does not exist (needed for channel sms): nudge.es.sms.j2 "
        "serve only those languages; every other customer needs it"
    )


def test_a_file_named_for_no_language_is_refused(tmp_path: Path) -> None:
    path = write_journey(tmp_path, templates={"nudge.xx.sms.j2": "Hi {{ opt_out }}"})
    [problem] = problems_of(path)
    assert Path(problem.file).name == "nudge.xx.sms.j2"
    assert "'xx' is not a language code such as es or fr" in problem.message


def test_a_journey_keeps_every_languages_version_and_what_each_reads(tmp_path: Path) -> None:
    from rapport.catalog.pinned import PinnedJourney

    journey = PinnedJourney.loaded(load_journey(write_journey(tmp_path, templates=SPANISH)))
    assert "nudge.es.sms.j2" in journey.templates.sources
    fields = journey.account_fields("nudge.sms.j2")
    assert fields is not None
    assert ("customer", "last_name") in fields  # read by the Spanish version only


async def test_a_spanish_customer_gets_the_spanish_text(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    spanish = account(customer__locale="es-MX", customer__last_name="Ruiz")
    timeline = await simulate_journey(env, tmp_path, BASE, templates=SPANISH, customer=spanish)
    [nudge] = [m for m in timeline["messages"] if m["step"] == "nudge"]
    assert nudge["body"].startswith("Hola Robin Ruiz: ")
    english = await simulate_journey(
        env, tmp_path / "en", BASE, templates=SPANISH, start="2028-06-01T09:00"
    )
    [nudge] = [m for m in english["messages"] if m["step"] == "nudge"]
    assert nudge["body"].startswith("Still ")
