"""Every check of the journey language, each with a broken file that must fail at the right place."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.journey_files import BASE, only_problem, problems_of, write_journey


def test_base_journey_is_valid(tmp_path: Path) -> None:
    assert problems_of(write_journey(tmp_path)) == []


def test_unknown_key_names_line_and_field(tmp_path: Path) -> None:
    path = write_journey(tmp_path, BASE.replace("    wait: 2d", "    wait: 2d\n    colour: red"))
    problem = only_problem(path)
    assert (problem.file, problem.line, problem.field) == (str(path), 11, "steps[1].colour")
    assert "unknown key 'colour'" in problem.message


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = BASE.replace("version: 1", "version: 0").replace("wait: 2d", "wait: soon")
    problems = problems_of(write_journey(tmp_path, text))
    assert [(p.line, p.field) for p in problems] == [(2, "version"), (10, "steps[1].wait")]


def test_missing_required_field(tmp_path: Path) -> None:
    problem = only_problem(write_journey(tmp_path, BASE.replace("name: Test journey\n", "")))
    assert (problem.line, problem.field, problem.message) == (1, "name", "required")


def test_bad_duration_says_how_to_write_one(tmp_path: Path) -> None:
    problem = only_problem(write_journey(tmp_path, BASE.replace("wait: 2d", "wait: 2 days")))
    assert (problem.line, problem.field) == (10, "steps[1].wait")
    assert "1d12h" in problem.message


def test_step_with_two_kinds(tmp_path: Path) -> None:
    text = BASE.replace("    wait: 2d", "    wait: 2d\n    end: done")
    problem = only_problem(write_journey(tmp_path, text))
    assert (problem.line, problem.field) == (9, "steps[1]")
    assert "exactly one of" in problem.message


def test_unknown_channel(tmp_path: Path) -> None:
    text = BASE.replace("{channel: sms, template: nudge}", "{channel: fax, template: nudge}")
    problem = only_problem(write_journey(tmp_path, text))
    assert (problem.line, problem.field) == (12, "steps[2].send.channel")
    assert "'fax' is not allowed" in problem.message


def test_duplicate_step_ids(tmp_path: Path) -> None:
    problem = only_problem(write_journey(tmp_path, BASE.replace("id: nudge", "id: reminder")))
    assert (problem.line, problem.field) == (11, "steps[2].id")
    assert "used twice" in problem.message


def test_goto_must_exist(tmp_path: Path) -> None:
    text = (
        BASE + "  - id: route\n    branch:\n      - {when: \"segment == 'loyal'\", goto: nowhere}\n"
    )
    problem = only_problem(write_journey(tmp_path, text))
    assert (problem.line, problem.field) == (15, "steps[3].branch[0].goto")
    assert "no step has id 'nowhere'" in problem.message


def test_loop_without_wait_is_rejected(tmp_path: Path) -> None:
    text = BASE + "  - id: again\n    branch:\n      - {goto: nudge}\n"
    problem = only_problem(write_journey(tmp_path, text))
    assert (problem.line, problem.field) == (15, "steps[3].branch[0].goto")
    assert "loop nudge -> again -> nudge has no wait" in problem.message


def test_an_offer_loop_with_no_wait_step_is_refused(tmp_path: Path) -> None:
    """offer -> branch -> offer: with no plan that qualifies the offer is skipped at once,
    and the loop would spin (1,452 runs in 15 s, before this check)."""
    text = (
        "id: offers\nversion: 1\nname: Offers\nsteps:\n"
        "  - id: offer\n"
        "    offer_plan: {channel: email, template: offer, installments: [2, 3], "
        "min_installment: 50, respond_within: 3d}\n"
        "  - id: again\n    branch:\n      - {goto: offer}\n"
    )
    problem = only_problem(write_journey(tmp_path, text))
    assert problem.field == "steps[1].branch[0].goto"
    assert "loop offer -> again -> offer has no wait step" in problem.message


def test_loop_with_a_wait_is_fine(tmp_path: Path) -> None:
    text = (
        BASE
        + "  - id: again\n    branch:\n      - {when: 'journey.messages_sent < 5', goto: pause}\n"
    )
    assert problems_of(write_journey(tmp_path, text)) == []


def test_missing_template_for_channel(tmp_path: Path) -> None:
    problem = only_problem(write_journey(tmp_path, templates={"nudge.sms.j2": None}))
    assert (problem.line, problem.field) == (12, "steps[2].send.template")
    assert "nudge.sms.j2 does not exist" in problem.message


def test_missing_template_for_fallback(tmp_path: Path) -> None:
    problem = only_problem(write_journey(tmp_path, templates={"reminder.sms.j2": None}))
    assert (problem.line, problem.field) == (8, "steps[0].send.template")
    assert "reminder.sms.j2 does not exist (needed for fallback sms)" in problem.message


def test_missing_template_for_variant(tmp_path: Path) -> None:
    text = BASE.replace("template: reminder,", "template: reminder, variants: {loyal: warm},")
    problems = problems_of(write_journey(tmp_path, text))
    assert {(p.line, p.field) for p in problems} == {(8, "steps[0].send.variants.loyal")}
    assert {p.message.split(" (")[0] for p in problems} == {
        "template warm.email.j2 does not exist",
        "template warm.sms.j2 does not exist",
    }


def test_variant_for_unknown_segment(tmp_path: Path) -> None:
    text = BASE.replace("template: nudge}", "template: nudge, variants: {vip: nudge}}")
    problem = only_problem(write_journey(tmp_path, text))
    assert (problem.line, problem.field) == (12, "steps[2].send.variants.vip")


def test_template_syntax_error_names_template_file_and_line(tmp_path: Path) -> None:
    bad = "Still {{ balance }}.\n{% if %}\n{{ opt_out }}\n"
    problem = only_problem(write_journey(tmp_path, templates={"nudge.sms.j2": bad}))
    assert problem.file == str(tmp_path / "templates" / "nudge.sms.j2")
    assert (problem.line, problem.field) == (2, "steps[2].send.template")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("{{ customer.nickname }}", "customer has no 'nickname'"),
        ("{{ x.__class__ }}", "unknown name 'x'"),
        ("{{ account.__class__.__mro__ }}", "not allowed"),
    ],
)
def test_template_names_are_checked_in_a_sandbox(tmp_path: Path, line: str, expected: str) -> None:
    source = f"Hi {{{{ customer.first_name }}}}\n\n{line}\n{{{{ opt_out }}}}\n"
    problem = only_problem(write_journey(tmp_path, templates={"nudge.sms.j2": source}))
    assert problem.file.endswith("nudge.sms.j2")
    assert problem.line == 3
    assert expected in problem.message


@pytest.mark.parametrize("file", ["reminder.email.j2", "nudge.sms.j2"])
def test_email_and_sms_must_render_opt_out(tmp_path: Path, file: str) -> None:
    source = (
        "Subject: Hi\n\nPay {{ balance }}\n" if file.endswith("email.j2") else "Pay {{ balance }}"
    )
    problem = only_problem(write_journey(tmp_path, templates={file: source}))
    assert problem.file.endswith(file)
    assert "opt_out" in problem.message


def test_opt_out_inside_a_false_branch_does_not_count(tmp_path: Path) -> None:
    source = "Pay {{ balance }}{% if account.balance < 0 %} {{ opt_out }}{% endif %}"
    problem = only_problem(write_journey(tmp_path, templates={"nudge.sms.j2": source}))
    assert "opt_out" in problem.message


def test_opt_out_inside_a_branch_the_sample_takes_is_still_refused(tmp_path: Path) -> None:
    """The sample account has a first name, so the branch renders the opt-out; a customer
    without one would get none. Checked on the template's structure, not one sample."""
    source = (
        "Pay {{ balance }}\n"
        "{% if customer.first_name %}Thanks, {{ customer.first_name }}. {{ opt_out }}"
        "{% else %}Thanks.{% endif %}\n"
    )
    problem = only_problem(write_journey(tmp_path, templates={"nudge.sms.j2": source}))
    assert problem.file.endswith("nudge.sms.j2")
    assert problem.line == 2
    assert "inside an {% if %} or a loop" in problem.message


@pytest.mark.parametrize(
    "source",
    [
        "{% if customer.first_name %}Hi {{ customer.first_name }}{% endif %}\nPay {{ balance }}\n"
        "{{ opt_out }}",
        "Pay {{ balance }} {% include 'footer.sms.j2' %}",
    ],
)
def test_opt_out_outside_every_branch_passes(tmp_path: Path, source: str) -> None:
    templates: dict[str, str | None] = {"nudge.sms.j2": source, "footer.sms.j2": "{{ opt_out }}"}
    assert problems_of(write_journey(tmp_path, templates=templates)) == []


def test_email_must_start_with_subject(tmp_path: Path) -> None:
    source = "Hello {{ customer.first_name }}\n\n{{ opt_out }}\n"
    problem = only_problem(write_journey(tmp_path, templates={"reminder.email.j2": source}))
    assert problem.file.endswith("reminder.email.j2")
    assert (problem.line, problem.field) == (1, "steps[0].send.template")
    assert "Subject:" in problem.message


@pytest.mark.parametrize(
    ("window", "field"),
    [
        ('{start: "07:00", end: "20:00"}', "policy.contact_window.start"),
        ('{start: "09:00", end: "22:30"}', "policy.contact_window.end"),
        ('{start: "18:00", end: "09:00"}', "policy.contact_window"),
    ],
)
def test_contact_window_within_8_to_21(tmp_path: Path, window: str, field: str) -> None:
    text = BASE.replace("segments:", f"policy:\n  contact_window: {window}\nsegments:")
    problem = only_problem(write_journey(tmp_path, text))
    assert (problem.line, problem.field) == (5, field)


def test_caps_must_be_positive(tmp_path: Path) -> None:
    text = BASE.replace(
        "segments:", "policy:\n  caps:\n    - {channel: all, max: 0, per: 7d}\nsegments:"
    )
    problem = only_problem(write_journey(tmp_path, text))
    assert (problem.line, problem.field) == (6, "policy.caps[0].max")


def test_cap_period_must_be_positive(tmp_path: Path) -> None:
    text = BASE.replace(
        "segments:", "policy:\n  caps:\n    - {channel: sms, max: 2, per: 0}\nsegments:"
    )
    problem = only_problem(write_journey(tmp_path, text))
    assert (problem.line, problem.field) == (6, "policy.caps[0].per")


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("account.history.tenure_months >=", "does not compile"),
        ("customer.tenure > 3", "unknown name 'customer'"),
        ("account.histroy.tenure_months > 3", "account has no 'histroy'"),
        ("account.history.tenure > 3", "account.history has no 'tenure'"),
        ("journey.sent > 1", "journey has no 'sent'"),
        ("account.balance.__class__", "private names"),
        ("account.balance.cents > 3", "account.balance has no 'cents'"),
        ("account.customer.email.upper()", "calls are not allowed"),
    ],
)
def test_when_expressions_are_checked(tmp_path: Path, expression: str, message: str) -> None:
    text = BASE.replace('"account.history.tenure_months >= 24"', repr(expression).replace("'", '"'))
    problem = only_problem(write_journey(tmp_path, text))
    assert (problem.line, problem.field) == (5, "segments[0].when")
    assert message in problem.message


def test_attributes_are_free_form_in_expressions(tmp_path: Path) -> None:
    text = BASE.replace('"account.history.tenure_months >= 24"', '"account.attributes.vip == true"')
    assert problems_of(write_journey(tmp_path, text)) == []


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    problem = only_problem(write_journey(tmp_path, BASE.replace("wait: 2d", "wait: [2d")))
    assert problem.line >= 10
    assert problem.field == "(yaml)"


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    problem = only_problem(
        write_journey(tmp_path, BASE.replace("version: 1", "version: 1\nversion: 2"))
    )
    assert (problem.line, problem.field, problem.message) == (3, "version", "duplicate key")


def test_not_a_mapping(tmp_path: Path) -> None:
    problem = only_problem(write_journey(tmp_path, "- just\n- a list\n"))
    assert problem.line == 1
    assert "mapping" in problem.message


def test_money_keeps_its_exact_value(tmp_path: Path) -> None:
    from decimal import Decimal

    from rapport.language.loader import load_journey
    from rapport.language.models import OfferPlanStep

    text = BASE + (
        "  - id: plan\n    offer_plan: {channel: sms, template: nudge, installments: [2],"
        " min_installment: 25.10, respond_within: 7d}\n"
    )
    step = load_journey(write_journey(tmp_path, text)).definition.steps[3]
    assert isinstance(step, OfferPlanStep)
    assert step.offer_plan.min_installment == Decimal("25.10")


ON_PLAN = """\
policy:
  plans: {installments: [2, 3], every: [weekly]}
on_plan:
  remind_before: 2d
  reminder: {channel: sms, template: nudge}
  grace: 3d
  broken: {misses: 1, goto: nudgee}
"""


def test_on_plan_broken_goto_must_exist(tmp_path: Path) -> None:
    text = BASE.replace("segments:\n", ON_PLAN + "segments:\n")
    problem = only_problem(write_journey(tmp_path, text))
    assert (problem.line, problem.field) == (10, "on_plan.broken.goto")
    assert "no step has id 'nudgee'; did you mean 'nudge'?" in problem.message


def test_on_plan_grace_past_the_next_due_date_is_refused(tmp_path: Path) -> None:
    text = BASE.replace("segments:\n", ON_PLAN + "segments:\n")
    text = text.replace("goto: nudgee", "goto: nudge").replace("grace: 3d", "grace: 8d")
    problem = only_problem(write_journey(tmp_path, text))
    assert (problem.line, problem.field) == (9, "on_plan.grace")
    assert "runs past the next due date on a weekly plan" in problem.message
