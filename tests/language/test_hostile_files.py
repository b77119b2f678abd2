"""A designer's file is untrusted input: the attacks of the workbench's review, each
replayed through `journey validate`. Every one gets one line naming the file and the
line, quickly, never a traceback, a hang or a machine out of memory."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from rapport.cli import main
from rapport.language.yaml_source import MAX_CHARACTERS, MAX_DEPTH
from tests.journey_files import BASE, problems_of, write_journey

TAIL = "version: 1\nname: x\nsteps:\n  - {id: e, end: done}\n"


def validate(path: Path) -> tuple[int, list[str], float]:
    began = time.monotonic()
    result = CliRunner().invoke(main, ["validate", str(path)])
    took = time.monotonic() - began
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result.exit_code, result.output.strip().splitlines(), took


def test_a_billion_laughs_is_refused_at_once(tmp_path: Path) -> None:
    """Nine lines whose aliases of aliases expand to 9**9 values."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\nid: bomb\n" + TAIL)
    code, lines_out, took = validate(path)
    assert code == 1
    [line] = lines_out
    assert line.startswith(f"{path}:")
    assert "aliases (*name) are expanded" in line
    assert took < 10


def test_an_alias_inside_its_own_anchor_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "endless.yaml"
    path.write_text("id: x\n" + TAIL + "segments: &s\n  - {id: a, when: 'true', more: *s}\n")
    code, lines_out, _ = validate(path)
    assert code == 1
    assert lines_out == [
        f"{path}:6: (yaml): an alias (*name) inside the value it names (&name): it would never end"
    ]


def test_deep_nesting_is_refused_with_its_line(tmp_path: Path) -> None:
    for opening, closing in (("[", "]"), ("{a: ", "}")):
        path = tmp_path / "deep.yaml"
        path.write_text("id: x\nversion: 1\nname: " + opening * 5000 + "1" + closing * 5000 + "\n")
        code, lines_out, _ = validate(path)
        assert code == 1
        assert lines_out == [
            f"{path}:3: (yaml): values nested more than {MAX_DEPTH} deep: a journey nests a "
            "few levels"
        ]


def test_aliases_cannot_nest_deeper_than_the_file_may(tmp_path: Path) -> None:
    lines = ["a0: &a0 [1]"] + [f"a{i}: &a{i} [[[*a{i - 1}]]]" for i in range(1, 30)]
    path = tmp_path / "aliases.yaml"
    path.write_text("\n".join(lines) + "\nid: x\n" + TAIL)
    code, lines_out, _ = validate(path)
    assert code == 1
    [line] = lines_out
    assert f"nested more than {MAX_DEPTH} deep once its aliases" in line


def test_a_huge_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    text = "id: x\n" + TAIL.replace("name: x", "name: " + "x" * MAX_CHARACTERS)
    path.write_text(text)
    code, lines_out, took = validate(path)
    assert code == 1
    assert lines_out == [
        f"{path}:1: (file): the file is {len(text):,} characters: at most "
        f"{MAX_CHARACTERS:,} (a journey is a few thousand)"
    ]
    assert took < 10


@pytest.mark.slow
def test_thousands_of_steps_are_refused_in_seconds(tmp_path: Path) -> None:
    """20,000 steps took minutes (each step's successors rebuilt the index of all)."""
    steps = "".join(
        f"  - {{id: w{i}, wait: 1d}}\n  - {{id: b{i}, branch: [{{when: 'true', goto: w0}}]}}\n"
        for i in range(10_000)
    )
    path = tmp_path / "long.yaml"
    path.write_text("id: long\nversion: 1\nname: Long\nsteps:\n" + steps)
    code, lines_out, took = validate(path)
    assert code == 1
    assert lines_out == [
        f"{path}:4: steps: 20000 steps: a journey has at most 500; split it in two"
    ]
    assert took < 20


def test_five_hundred_steps_validate_in_seconds(tmp_path: Path) -> None:
    steps = "".join(
        f"  - {{id: w{i}, wait: 1d}}\n"
        f"  - {{id: b{i}, branch: [{{when: 'journey.replied', goto: w0}}]}}\n"
        for i in range(250)
    )
    path = write_journey(tmp_path, "id: long\nversion: 1\nname: Long\nsteps:\n" + steps)
    code, lines_out, took = validate(path)
    assert (code, lines_out[-1]) == (0, f"ok  {path}  (long v1)")
    assert took < 10
    assert BASE  # the helper's templates sit beside it


def template_problems(tmp_path: Path, source: str, **more: str) -> list[str]:
    """The problems of the test journey whose `nudge` text is `source`."""
    path = write_journey(tmp_path, templates={"nudge.sms.j2": source, **more})
    return [f"{Path(p.file).name}:{p.line}: {p.message}" for p in problems_of(path)]


def test_a_template_that_includes_itself_is_refused_before_it_is_rendered(
    tmp_path: Path,
) -> None:
    """It was rendered, a thousand levels deep, and reported as a RecursionError."""
    problems = template_problems(
        tmp_path,
        "Hi\n{% include 'footer.j2' %}\n{{ opt_out }}",
        **{"footer.j2": "{% if balance %}{% include 'nudge.sms.j2' %}{% endif %}"},
    )
    assert problems == [
        "nudge.sms.j2:2: includes itself (nudge.sms.j2 -> footer.j2 -> nudge.sms.j2): it "
        "would never end"
    ]
    problems = template_problems(tmp_path, "{% extends 'nudge.sms.j2' %}{{ opt_out }}")
    assert problems == [
        "nudge.sms.j2:1: includes itself (nudge.sms.j2 -> nudge.sms.j2): it would never end"
    ]


def test_an_include_names_a_template_of_the_folder(tmp_path: Path) -> None:
    problems = template_problems(
        tmp_path,
        "{% include '../../etc/passwd' %}\n{% include customer.first_name %}\n"
        "{% include 'footr.j2' %}{{ opt_out }}",
        **{"footer.j2": "Thanks"},
    )
    assert problems == [
        "nudge.sms.j2:1: includes '../../etc/passwd', which is not in templates/: name a "
        "file of templates/, e.g. 'footer.j2'",
        "nudge.sms.j2:2: include a template by its name in quotes, e.g. "
        "{% include 'footer.j2' %}, not by a value",
        "nudge.sms.j2:3: includes 'footr.j2', which is not in templates/; did you mean "
        "'footer.j2'?",
    ]


def test_includes_that_multiply_are_stopped_by_the_budget(tmp_path: Path) -> None:
    """Each of 25 files includes the next twice: 2**25 copies of a line. Includes were
    free, so only the 1-second timer stopped it; each is a step now, its text work."""
    chain = {
        f"p{i}.j2": f"{{% include 'p{i + 1}.j2' %}}{{% include 'p{i + 1}.j2' %}}" for i in range(25)
    }
    chain["p25.j2"] = "x" * 50
    began = time.monotonic()
    problems = template_problems(tmp_path, "{% include 'p0.j2' %}{{ opt_out }}", **chain)
    assert time.monotonic() - began < 5
    assert len(problems) == 1
    assert problems[0].endswith("more than 1000 steps: simplify it")


def test_a_template_that_fails_for_the_sample_says_why_in_plain_words(tmp_path: Path) -> None:
    problems = template_problems(
        tmp_path, "{{ 10 / (account.days_past_due - account.days_past_due) }} {{ opt_out }}"
    )
    assert problems == [
        "nudge.sms.j2:1: divides by zero for this account: check the divisor first ({% if ... %})"
    ]


def test_every_problem_of_a_template_at_once(tmp_path: Path) -> None:
    """A filter that does not exist hid every misspelt name of the same template."""
    problems = template_problems(
        tmp_path,
        "Hi {{ custmer.first_name }}, {{ balance | uper }} {{ balance | pprint }}\n"
        "{{ links.pay_online }} {{ customer.first_name.swapcase() }} {{ opt_out }}",
    )
    assert problems == [
        "nudge.sms.j2:1: filter 'pprint' is not allowed in a template (see the docs)",
        "nudge.sms.j2:1: no filter named 'uper'; did you mean 'upper'?",
        "nudge.sms.j2:1: unknown name 'custmer'; did you mean 'customer'?",
        "nudge.sms.j2:2: links has no 'pay_online'; did you mean 'pay_now'?",
        "nudge.sms.j2:2: method 'swapcase' is not allowed in a template (see the docs)",
    ]


def test_a_thank_you_must_read_for_a_balance_billing_cleared(tmp_path: Path) -> None:
    """Validation rendered on_paid with a sample payment only; a balance billing cleared
    (account_updated) has no payment, and `payment.amount` failed the thank-you."""
    definition = BASE + "on_paid:\n  send: {channel: email, template: thanks}\n"
    path = write_journey(
        tmp_path,
        definition,
        {"thanks.email.j2": "Subject: Thanks\n\nWe got {{ payment.amount }}.\n{{ opt_out }}\n"},
    )
    [problem] = problems_of(path)
    assert (Path(problem.file).name, problem.line, problem.field) == (
        "thanks.email.j2",
        3,
        "on_paid.send.template",
    )
    assert problem.message == (
        "undefined name: an empty value has no 'amount', when billing cleared the balance: "
        "`payment` is empty then (there is no payment to name); write {% if payment %}..."
        "{% endif %} around what reads it"
    )
    guarded = "Subject: Thanks\n\n{% if payment %}We got {{ payment.amount }}.{% endif %}\n{{ opt_out }}\n"
    assert problems_of(write_journey(tmp_path, definition, {"thanks.email.j2": guarded})) == []


def test_a_segment_a_condition_names_must_exist(tmp_path: Path) -> None:
    text = BASE.replace(
        "template: nudge}",
        "template: nudge, when: \"segment == 'loyl' or segment in ['default', 'behnd']\"}",
    )
    problems = [p.message for p in problems_of(write_journey(tmp_path, text))]
    assert problems == [
        "no segment has id 'behnd'; segments: loyal, default",
        "no segment has id 'loyl'; did you mean 'loyal'?",
    ]


def test_a_loop_waits_at_least_an_hour_each_time_round(tmp_path: Path) -> None:
    """A loop of one-minute waits passed: every account's journey woke 1,440 times a day,
    and two days of it took a simulation 15 seconds (90 days, many minutes)."""
    text = (
        "id: spin\nversion: 1\nname: Spin\nsteps:\n"
        "  - {id: w, wait: 1m}\n"
        "  - {id: u, wait_until: {any_of: [replied], timeout: 30m}}\n"
        '  - {id: b, branch: [{when: "journey.replied", goto: e}, {goto: w}]}\n'
        "  - {id: e, end: done}\n"
    )
    [problem] = problems_of(write_journey(tmp_path, text))
    assert (problem.line, problem.field, problem.message) == (
        7,
        "steps[2].branch[1].goto",
        "loop w -> u -> b -> w waits less than 1h each time round (w 1m, u 30m): a loop "
        "would wake the journey again and again; wait at least 1h in it",
    )
    assert problems_of(write_journey(tmp_path, text.replace("wait: 1m", "wait: 1h"))) == []


def test_a_file_that_is_not_utf8_is_named_with_its_line(tmp_path: Path) -> None:
    """A Spanish template saved as Latin-1 was left out without a word (Spanish customers
    got the English one); a definition said "'utf-8' codec can't decode byte 0xff in
    position 5: invalid start byte"."""
    path = write_journey(tmp_path)
    (tmp_path / "templates" / "nudge.es.sms.j2").write_bytes(b"Hola\nSe\xf1ora {{ opt_out }}")
    assert [str(p) for p in problems_of(path)] == [
        f"{tmp_path / 'templates' / 'nudge.es.sms.j2'}:2: (file): is not UTF-8 text (byte "
        "0xf1 on this line): save it as UTF-8"
    ]
    path.write_bytes(b"id: test-journey\nname: J\xfcrgen\n")
    assert [str(p) for p in problems_of(path)] == [
        f"{path}:2: (file): is not UTF-8 text (byte 0xfc on this line): save it as UTF-8"
    ]


def test_a_huge_wrong_value_is_repeated_shortened(tmp_path: Path) -> None:
    """A goto of 100,000 characters was echoed whole, once per line that names it."""
    text = (
        BASE
        + '  - {id: route, branch: [{when: "journey.replied", goto: "'
        + "x" * 100_000
        + '"}]}\n'
    )
    [problem] = problems_of(write_journey(tmp_path, text))
    assert len(problem.message) < 200
    assert problem.message.startswith("no step has id 'xxxxxxxx")


def test_a_version_past_what_temporal_can_index_is_refused(tmp_path: Path) -> None:
    """`version: 99999999999999999999` validated; the version is a search attribute (a
    64-bit Int), and every start of the journey failed at the server (a simulation said
    'RPCError: Timeout expired')."""
    text = BASE.replace("version: 1", "version: 99999999999999999999")
    [problem] = problems_of(write_journey(tmp_path, text))
    assert (problem.line, problem.field, problem.message) == (
        2,
        "version",
        "99999999999999999999 is too large: at most 1000000",
    )
