"""`journey validate` as a designer meets it: every problem of a file in one run, steps
no path reaches, "did you mean", the bad value repeated, and two versions of a journey."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from rapport.cli import main
from rapport.language.loader import load_journey
from tests.journey_files import BASE, problems_of, write_journey

EIGHT_MISTAKES = """\
id: test-journey
version: 0
name: Test journey
segments:
  - {id: loyal, when: "account.history.tenure_months >= 24"}
steps:
  - id: reminder
    send: {channel: email, template: remindr, variants: {loyl: reminder}, fallback: sms}
  - id: pause
    wait: 2 days
  - id: nudge
    send: {channel: fax, template: nudge}
  - id: route
    branch:
      - {when: "journey.mesages_sent > 2", goto: pauze}
  - id: plan
    offer_plan:
      channel: email
      template: offer
      installments: [2, 3]
      respond_whithin: 7d
"""


def validate(*paths: Path) -> tuple[int, list[str]]:
    """The exit code and the lines, but the rule packs' notes on the test journey's policy."""
    result = CliRunner().invoke(main, ["validate", *map(str, paths)])
    lines = result.output.strip().splitlines()
    return result.exit_code, [line for line in lines if "than pack" not in line]


def test_every_problem_of_a_file_in_one_run(tmp_path: Path) -> None:
    path = write_journey(
        tmp_path, EIGHT_MISTAKES, {"nudge.sms.j2": "Pay: {{ links.pay_online }} {{ opt_out }}"}
    )
    found = {(p.field, p.message) for p in problems_of(path)}
    fields = sorted(field for field, _ in found)
    assert fields == sorted(
        [
            "version",  # the schema's errors ...
            "steps[1].wait",
            "steps[2].send.channel",
            "steps[4].offer_plan.respond_whithin",
            "steps[4].offer_plan.respond_within",
            "steps[0].send.template",  # ... and, in the same run, every later check
            "steps[0].send.template",
            "steps[0].send.variants.loyl",
            "steps[3].branch[0].when",
            "steps[3].branch[0].goto",
        ]
    ), "\n".join(sorted(map(str, found)))
    messages = "\n".join(message for _, message in found)
    assert "0 is too small: at least 1" in messages
    assert "'2 days' is not a duration" in messages
    assert "'fax' is not allowed" in messages
    assert "unknown key 'respond_whithin'; did you mean 'respond_within'?" in messages
    assert "no step has id 'pauze'; did you mean 'pause'?" in messages
    assert "no segment has id 'loyl'; did you mean 'loyal'?" in messages
    assert "journey has no 'mesages_sent'; did you mean 'messages_sent'?" in messages
    assert "template remindr.email.j2 does not exist (needed for channel email); did you mean " in (
        messages
    )


def test_a_misspelt_link_is_named_with_what_was_meant(tmp_path: Path) -> None:
    path = write_journey(
        tmp_path, templates={"nudge.sms.j2": "Pay here:\n{{ links.pay_online }}\n{{ opt_out }}"}
    )
    [problem] = problems_of(path)
    assert (Path(problem.file).name, problem.line) == ("nudge.sms.j2", 2)
    assert problem.message == "links has no 'pay_online'; did you mean 'pay_now'?"


def test_misspelt_names_in_templates_and_expressions(tmp_path: Path) -> None:
    text = BASE.replace("template: nudge}", "template: nudge, when: 'acount.balance > 5'}")
    path = write_journey(tmp_path, text, {"nudge.sms.j2": "{{ custmer.first_name }} {{ opt_out }}"})
    messages = [p.message for p in problems_of(path)]
    assert "unknown name 'acount'; did you mean 'account'?" in messages
    assert "unknown name 'custmer'; did you mean 'customer'?" in messages


def test_a_step_no_path_reaches_is_a_warning_and_still_runs(tmp_path: Path) -> None:
    text = BASE + "  - id: stop\n    end: done\n  - id: orphan\n    wait: 1d\n"
    path = write_journey(tmp_path, text)
    journey = load_journey(path)  # a warning does not stop the journey
    [warning] = journey.warnings
    assert (warning.line, warning.field, warning.severity) == (15, "steps[4]", "warning")
    assert "no path reaches step 'orphan'" in warning.message
    code, lines = validate(path)
    assert code == 0
    assert lines[0] == f"{path}:15: steps[4]: warning: {warning.message}"
    assert lines[1].startswith(f"ok  {path}")


def test_a_step_jumped_over_by_every_path_is_unreachable(tmp_path: Path) -> None:
    text = BASE.replace(
        "  - id: pause\n", "  - id: skip\n    branch:\n      - {goto: nudge}\n  - id: pause\n"
    )
    warnings = load_journey(write_journey(tmp_path, text)).warnings
    assert [w.field for w in warnings] == ["steps[2]"]
    assert "'pause'" in warnings[0].message


def test_a_broken_step_keeps_its_id_for_gotos(tmp_path: Path) -> None:
    """A step the schema refuses is still a step: a goto to it is not reported too."""
    text = BASE.replace("wait: 2d", "wait: soon") + (
        "  - id: again\n    branch:\n      - {when: 'journey.messages_sent < 3', goto: pause}\n"
    )
    problems = problems_of(write_journey(tmp_path, text))
    assert [p.field for p in problems] == ["steps[1].wait"], problems


def test_duplicate_yaml_keys_do_not_hide_other_problems(tmp_path: Path) -> None:
    text = BASE.replace("name: Test journey\n", "name: Test journey\nname: Again\n").replace(
        "wait: 2d", "wait: 2 days"
    )
    problems = problems_of(write_journey(tmp_path, text))
    assert [(p.line, p.field) for p in problems] == [(4, "name"), (11, "steps[1].wait")]


def test_two_versions_of_a_journey_may_sit_side_by_side(tmp_path: Path) -> None:
    write_journey(tmp_path, BASE, name="journey_v1.yaml")
    newer = BASE.replace("version: 1", "version: 2").replace("wait: 2d", "wait: 3d")
    write_journey(tmp_path, newer, name="journey_v2.yaml")
    code, lines = validate(tmp_path)
    assert code == 0, lines
    assert lines == [
        f"ok  {tmp_path / 'journey_v1.yaml'}  (test-journey v1, superseded by v2 in "
        f"{tmp_path / 'journey_v2.yaml'}: new journeys start that one)",
        f"ok  {tmp_path / 'journey_v2.yaml'}  (test-journey v2)",
    ]


def test_the_same_version_twice_is_refused_at_the_id_line(tmp_path: Path) -> None:
    commented = "# a copy\n\n" + BASE
    first = write_journey(tmp_path, commented, name="a.yaml")
    second = write_journey(tmp_path, commented, name="b.yaml")
    code, lines = validate(tmp_path)
    assert code == 1
    assert lines == [
        f"{second}:3: id: journey 'test-journey' version 1 is also defined in {first}:3: give "
        "one of them a higher version (new journeys start the highest) or another id"
    ]


def test_the_library_starts_the_highest_version(tmp_path: Path) -> None:
    from rapport.catalog.library import Library
    from rapport.language.samples import sample_account

    write_journey(tmp_path, BASE.replace("version: 1", "version: 2"), name="new.yaml")
    write_journey(tmp_path, BASE, name="old.yaml")
    chosen = Library([tmp_path]).choose("test-journey", sample_account())
    assert chosen.definition.version == 2


def test_a_plan_no_sample_account_qualifies_for_is_a_warning(tmp_path: Path) -> None:
    text = BASE.replace(
        "  - id: pause\n",
        "  - id: plan\n    offer_plan: {channel: email, template: offer, installments: [3, 6],"
        " min_installment: '100.00', respond_within: 7d}\n  - id: pause\n",
    )
    [warning] = load_journey(write_journey(tmp_path, text)).warnings
    assert (warning.field, warning.severity) == ("steps[1].offer_plan.min_installment", "warning")
    assert warning.message == (
        "no plan qualifies for the sample account's balance of 182.40 USD: 3 installments of "
        "at least 100.00 need a balance of 300.00; for such accounts the offer and its 7d "
        "wait for an answer are skipped and the next step comes that much sooner"
    )


def test_a_misspelt_channel_or_day_gets_a_did_you_mean(tmp_path: Path) -> None:
    text = BASE.replace("fallback: sms}", "fallback: smss}").replace(
        "name: Test journey\n", "name: Test journey\npolicy: {days: [mon, sunday]}\n"
    )
    messages = sorted(p.message for p in problems_of(write_journey(tmp_path, text)))
    assert messages == [
        "'smss' is not allowed; did you mean 'sms'? (use 'email', 'sms', 'voice', 'letter', "
        "'push' or 'webhook')",
        "'sunday' is not allowed; did you mean 'sun'? (use 'mon', 'tue', 'wed', 'thu', 'fri', "
        "'sat' or 'sun')",
    ]


def test_a_condition_that_fails_for_the_sample_account_is_a_warning(tmp_path: Path) -> None:
    """These passed as `ok`: each fails for every account like the sample, and a condition
    that fails counts as false, so the branch could never be taken. A field the account
    lacks (an attribute) is not one: `is defined` is for those."""
    text = BASE + (
        "  - id: route\n"
        "    branch:\n"
        '      - {when: "account.customer.first_name > 3", goto: pause}\n'
        '      - {when: "account.days_past_due / (account.days_past_due * 0) > 1", goto: pause}\n'
        '      - {when: "account.attributes.score > 3", goto: pause}\n'
    )
    path = write_journey(tmp_path, text)
    code, lines = validate(path)
    assert code == 0
    said = ": warning: fails for the sample account: {}; at run time a condition that fails "
    said += "counts as false, so it would never hold for such accounts"
    assert lines[:2] == [
        f"{path}:15: steps[3].branch[0].when" + said.format("'>' between a text and a number"),
        f"{path}:16: steps[3].branch[1].when" + said.format("it divides by zero"),
    ]
    assert lines[2] == f"ok  {path}  (test-journey v1)"
