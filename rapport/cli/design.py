"""Commands for journey designers: validate, rules, schema, preview, simulate, outbox."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from rapport.channels import NAMES
from rapport.cli.app import exit_now, fail, load_account, main, quiet_temporal_logs
from rapport.cli.app import reporting_problems as checked
from rapport.compliance.fit import located
from rapport.compliance.table import RULES_FOLDER, RuleBook, load_rulebook
from rapport.language.loader import (
    LoadedJourney,
    current_versions,
    find_definitions,
    load_all,
    load_journey,
)
from rapport.language.problems import DefinitionError, Problem
from rapport.language.templates import TemplateProblem
from rapport.runtime.settings import load_settings


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def validate(paths: tuple[Path, ...]) -> None:
    """Check definitions and their templates (default: journeys/), the rule packs, and
    each journey's policy against the packs of the countries it can reach."""
    journeys, problems = load_all(list(paths) or [Path("journeys")])
    book, pack_problems = _rulebook()
    problems += pack_problems
    for journey in journeys:
        errors, cautions = located(journey.path, journey.definition, book)
        problems += errors + cautions
    for problem in sorted(problems):
        click.echo(str(problem))
    if any(not p.is_warning for p in problems):
        raise SystemExit(1)
    if not book.packs:
        click.echo(f"warning: no rule packs in {_rules_folder()}: only the engine's floors hold")
    current = current_versions(journeys)
    for journey in journeys:
        definition = journey.definition
        newest = current[definition.id]
        note = (
            f", superseded by v{newest.definition.version} in {newest.path}: new journeys "
            "start that one"
            if newest is not journey
            else ""
        )
        click.echo(f"ok  {journey.path}  ({definition.id} v{definition.version}{note})")


def _rules_folder() -> Path:
    return load_settings().journeys_dir / RULES_FOLDER


def _rulebook() -> tuple[RuleBook, list[Problem]]:
    try:
        return load_rulebook(_rules_folder()), []
    except DefinitionError as exc:
        return RuleBook(), exc.problems


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the packs as JSON.")
def rules(as_json: bool) -> None:
    """List the rule packs (journeys/rules/) and each rule with its citation and note."""
    book = checked(lambda: load_rulebook(_rules_folder()))
    if as_json:
        click.echo(json.dumps(rules_json(book), indent=2, ensure_ascii=False))
        return
    if not book.packs:
        click.echo(f"no rule packs in {_rules_folder()}: only the engine's floors hold")
    for pack in book.packs:
        click.echo(f"{pack.pack}  {pack.name}  (accounts in {pack.applies_to.label()})")
        for rule in pack.rules:
            channels = "all" if rule.channels == "all" else ", ".join(rule.channels)
            click.echo(f"  {rule.id:<26} {rule.citation}")
            click.echo(f"  {'':<26} {rule.note}")
            click.echo(f"  {'':<26} {rule.summary()}; channels: {channels}")
            if rule.not_enforced:
                click.echo(f"  {'':<26} not enforced yet: {rule.not_enforced}")
        click.echo("")


def rules_json(book: RuleBook) -> dict[str, Any]:
    return {
        "folder": str(book.folder) if book.folder else None,
        "packs": [
            {
                "pack": pack.pack,
                "name": pack.name,
                "applies_to": pack.applies_to.model_dump(mode="json"),
                "source": pack.source,
                "rules": [
                    {
                        "id": rule.id,
                        "kind": rule.kind,
                        "citation": rule.citation,
                        "note": rule.note,
                        "channels": rule.channels,
                        "summary": rule.summary(),
                        "enforced": rule.not_enforced is None,
                        "not_enforced": rule.not_enforced,
                    }
                    for rule in pack.rules
                ],
            }
            for pack in book.packs
        ],
    }


@main.command()
def schema() -> None:
    """Print the JSON Schema of a journey definition, for editors."""
    from rapport.contract.schemas import schema as json_schema

    click.echo(json.dumps(json_schema("journey-definition"), indent=2))


@main.command()
@click.argument("definition", type=click.Path(path_type=Path))
@click.option("--account", "account_file", required=True, type=click.Path(path_type=Path))
@click.option("--step", "step_id", default=None, help="Only this step's message (or on_paid, ...).")
@click.option("--segment", default=None, help="As if the account were in this segment.")
@click.option("--locale", default=None, help="As if the customer's locale were this one.")
@click.option(
    "--channel",
    type=click.Choice(NAMES),
    default=None,
    help="The messages on this channel, fallbacks included.",
)
def preview(
    definition: Path,
    account_file: Path,
    step_id: str | None,
    segment: str | None,
    locale: str | None,
    channel: str | None,
) -> None:
    """Render the messages a journey would send to one account."""
    from rapport.designer.preview import Options, PreviewError
    from rapport.designer.preview import preview as render_preview

    journey = checked(lambda: load_journey(definition))
    account = load_account(account_file)
    options = Options(step=step_id, segment=segment, locale=locale, channel=channel)
    try:
        shown = render_preview(journey, account, options)
        click.echo(shown)
        if shown.failed:  # a message this account would not get: say so in the exit code
            raise SystemExit(1)
    except (TemplateProblem, PreviewError) as exc:
        fail([str(exc)])
    except ValidationError as exc:  # a forced locale that is not one
        fail([f"--locale: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()])


@main.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the timeline as JSON.")
def simulate(scenario: Path, as_json: bool) -> None:
    """Run a scenario through the real workflow on the time-skipping server."""
    from rapport.simulation.runner import ScenarioError
    from rapport.simulation.runner import simulate as run_simulation
    from rapport.simulation.scenario import load_scenario
    from rapport.simulation.timeline import table, timeline

    loaded = checked(lambda: load_scenario(scenario))
    quiet_temporal_logs()
    try:
        run = asyncio.run(run_simulation(loaded))
    except ScenarioError as exc:
        exit_now(1, [str(exc)])
    except Exception as exc:  # the server or worker failed: say so, no traceback
        exit_now(1, [f"{scenario}: the simulation could not run: {type(exc).__name__}: {exc}"])
    data = timeline(run)
    click.echo(json.dumps(data, indent=2, ensure_ascii=False) if as_json else table(data))
    exit_now(0)


@main.command(name="test")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def test_scenarios(paths: tuple[Path, ...]) -> None:
    """Run scenarios (files or folders; default examples/scenarios/) and check their
    expect:; exit 1 naming each miss."""
    from rapport.simulation.testing import report, run_scenarios

    quiet_temporal_logs()
    try:
        results = asyncio.run(run_scenarios(list(paths) or [Path("examples/scenarios")]))
    except Exception as exc:  # the server could not start: say so, no traceback
        exit_now(1, [f"the scenarios could not run: {type(exc).__name__}: {exc}"])
    lines = report(results)
    for line in lines:
        click.echo(line)
    exit_now(0 if all(r.passed for r in results) else 1)


@main.command()
@click.option("--account", "account_id", default=None, help="Only this account's messages.")
@click.option("--full", is_flag=True, help="Show whole bodies, not first lines.")
def outbox(account_id: str | None, full: bool) -> None:
    """Show the local outbox, where messages go when no real provider is configured."""
    from rapport.providers.outbox import read_outbox

    path = load_settings().outbox_path
    entries = [e for e in read_outbox(path) if account_id in (None, e["account_id"])]
    if not entries:
        click.echo(f"{path}: no messages yet")
    for entry in entries:
        first = entry["subject"] or entry["body"].split("\n")[0]
        click.echo(
            f"{entry['at']}  {entry['account_id']:<10} {entry['channel']:<8} "
            f"{entry['to']:<24} {first}"
        )
        if full:
            click.echo(entry["body"] + "\n")


def _loaded(file: Path) -> LoadedJourney:
    return checked(lambda: load_journey(file))


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "kind",
    type=click.Choice(["mermaid", "svg"]),
    default="mermaid",
    show_default=True,
    help="Mermaid text (for Markdown) or an SVG picture.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Write NAME.mmd or NAME.svg per journey into this folder instead of printing.",
)
def diagram(paths: tuple[Path, ...], kind: str, out: Path | None) -> None:
    """Draw a journey: its steps, waits, branches with their conditions, and ends.

    PATHS are definition files or folders of them; several need --out."""
    from rapport.designer.drawing import draw

    files = find_definitions(list(paths))
    if out is None and len(files) != 1:
        fail([f"{len(files)} journeys: give one file, or --out FOLDER to write each"])
    journeys = [_loaded(file) for file in files]
    if out is None:
        click.echo(draw(journeys[0].definition, kind), nl=False)
        return
    out.mkdir(parents=True, exist_ok=True)
    suffix = ".mmd" if kind == "mermaid" else ".svg"
    for journey in journeys:
        target = out / (journey.path.stem + suffix)
        target.write_text(draw(journey.definition, kind), encoding="utf-8")
        click.echo(f"wrote {target}")


@main.command()
@click.argument("old", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("new", type=click.Path(path_type=Path, dir_okay=False))
def diff(old: Path, new: Path) -> None:
    """What changed from OLD to NEW, two definition files: steps, waits, conditions,
    templates (their text), policy."""
    from rapport.designer.diff import journey_diff

    click.echo(journey_diff(_loaded(old), _loaded(new)), nl=False)
