"""`journey preview` as a designer uses it: as a segment, a locale or a channel, every
block, fallbacks as the engine would use them, steps that never run marked, texts with
their billed segments."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from rapport.cli import main
from tests.journey_files import BASE, write_journey

ROOT = Path(__file__).resolve().parents[2]
EARLY = str(ROOT / "journeys" / "early_stage.yaml")
ACCOUNTS = ROOT / "examples" / "accounts"
LOYAL = str(ACCOUNTS / "loyal_first_miss.yaml")
CARD = str(ACCOUNTS / "card_declined.yaml")


def preview(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["preview", *args])
    return result.exit_code, result.output


def test_as_another_segment() -> None:
    code, out = preview(EARLY, "--account", LOYAL, "--step", "reminder", "--segment", "behind")
    assert code == 0, out
    assert "segment behind" in out
    assert "--- reminder: email, template reminder_behind [reminder_behind.email.j2]" in out
    code, out = preview(EARLY, "--account", LOYAL, "--segment", "behnd")
    assert code == 1
    assert "no segment has id 'behnd'; did you mean 'behind'?" in out


def test_as_another_locale_in_its_language(tmp_path: Path) -> None:
    spanish = {"nudge.es.sms.j2": "Hola {{ customer.first_name }}: {{ balance }}. {{ opt_out }}"}
    journey = str(write_journey(tmp_path, templates=spanish))
    code, out = preview(journey, "--account", LOYAL, "--step", "nudge", "--locale", "es-MX")
    assert code == 0, out
    assert "locale es-MX" in out
    assert "--- nudge: sms, template nudge [nudge.es.sms.j2]" in out
    assert "Hola Dana: USD 182.40." in out  # CLDR's spacing (an SMS: a plain space)
    code, out = preview(journey, "--account", LOYAL, "--locale", "xx-YY")
    assert code == 1
    assert out.strip() == "--locale: 'xx-YY' is not a locale such as en-US or fr-FR"


def test_a_channel_without_consent_shows_the_fallback_the_engine_would_use() -> None:
    code, out = preview(EARLY, "--account", CARD, "--step", "options")
    assert code == 0, out
    assert "--- options: email, template options [options.email.j2]" in out
    assert "(sms: no consent, so on its fallback, email)" in out


def test_the_fallback_texts_can_be_read() -> None:
    code, out = preview(EARLY, "--account", CARD, "--channel", "sms")
    assert code == 0, out
    assert "--- reminder: sms, template reminder_card [reminder_card.sms.j2]" in out
    assert "(the fallback of email)" in out
    assert "--- on_paid: sms, template thank_you [thank_you.sms.j2]" in out
    assert "segment (GSM-7, " in out
    assert "--- call:" not in out  # voice only


def test_any_block_can_be_previewed() -> None:
    for block in ("on_paid", "on_partial_payment"):
        code, out = preview(EARLY, "--account", LOYAL, "--step", block)
        assert code == 0, out
        assert f"--- {block}: " in out
    code, out = preview(EARLY, "--account", LOYAL, "--step", "first_pause")
    assert code == 0
    assert "(step 'first_pause' is a wait: it sends nothing)" in out


def test_a_step_no_path_reaches_is_marked(tmp_path: Path) -> None:
    text = (
        BASE
        + "  - id: stop\n    end: done\n  - id: orphan\n    send: {channel: sms, template: nudge}\n"
    )
    code, out = preview(str(write_journey(tmp_path, text)), "--account", LOYAL)
    assert code == 0, out
    orphan = out[out.index("--- orphan") :]
    assert orphan.splitlines()[1] == "    (UNREACHABLE: no path reaches this step, it never runs)"
    reached = out[out.index("--- nudge") : out.index("--- orphan")]
    assert "UNREACHABLE" not in reached


def test_a_long_text_shows_its_segments_over_the_limit(tmp_path: Path) -> None:
    long = "Hi. " + "This is a very long text indeed. " * 10 + "{{ opt_out }}"
    journey = str(write_journey(tmp_path, templates={"nudge.sms.j2": long}))
    code, out = preview(journey, "--account", LOYAL, "--step", "nudge")
    assert code == 0, out
    assert "(3 segments (GSM-7, 365 characters), over the journey's limit of 2)" in out


def test_a_thank_you_shows_the_payment_it_thanks_for() -> None:
    """The preview rendered on_paid with no payment: any template that names the payment
    failed the whole preview."""
    code, out = preview(EARLY, "--account", LOYAL, "--step", "on_paid")
    assert code == 0, out
    assert "(thanking for a sample payment of 45.00, reference pi_SAMPLE0000000000)" in out


def test_a_message_that_fails_for_this_account_is_shown_as_not_sent(tmp_path: Path) -> None:
    """Valid for the sample account, not for one not yet late: the preview stopped at it
    with 'nudge.sms.j2:1: ...' (no folder, no step, no other message); now that message
    says why it is not sent, the others show, and the exit code is 1."""
    path = write_journey(
        tmp_path, templates={"nudge.sms.j2": "{{ 100 / account.days_past_due }} {{ opt_out }}"}
    )
    code, out = preview(str(path), "--account", str(ACCOUNTS / "due_soon.yaml"))
    assert code == 1
    assert "--- reminder: email, template reminder [reminder.email.j2]" in out
    assert (
        f"(NOT SENT to this account: {tmp_path / 'templates' / 'nudge.sms.j2'}:1: divides by "
        "zero for this account: check the divisor first ({% if ... %}) (the engine skips it "
        "as rejected))"
    ) in out
