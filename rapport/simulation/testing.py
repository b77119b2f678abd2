"""`journey test`: scenarios as regression tests, one time-skipping server for all of them.

Each scenario runs through the real workflow like `journey simulate`; its `expect:` is
checked against the timeline, and every miss is a line `FILE:LINE: expect.field: what
happened instead`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from rapport.language.problems import DefinitionError, Problem, format_path
from rapport.runtime.servers import start_time_skipping
from rapport.simulation.expect import check
from rapport.simulation.runner import ScenarioError, simulate_on
from rapport.simulation.scenario import LoadedScenario, load_scenario
from rapport.simulation.start import StartInPast
from rapport.simulation.timeline import timeline

SUFFIXES = (".yaml", ".yml")


@dataclass
class Result:
    path: Path
    problems: list[Problem] = field(default_factory=list)  # misses, or why it did not run
    outcome: str | None = None
    messages: int = 0
    expectations: int = 0

    @property
    def passed(self) -> bool:
        return not self.problems


def scenario_files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.suffix in SUFFIXES)
        else:
            found.append(path)
    return found


async def run_scenarios(paths: list[Path]) -> list[Result]:
    """Every scenario under `paths`, in order, on one server (a fresh one only for a
    scenario whose fixed start the server's clock has already passed)."""
    results: list[Result] = []
    env: WorkflowEnvironment | None = None
    try:
        for path in scenario_files(paths):
            result = Result(path)
            results.append(result)
            if not path.exists():
                result.problems.append(Problem(str(path), 1, "(file)", "no such file"))
                continue
            try:
                scenario = load_scenario(path)
            except DefinitionError as exc:
                result.problems += [p for p in exc.problems if not p.is_warning]
                continue
            if env is None or await _behind(env, scenario):
                if env is not None:
                    await env.shutdown()
                env = await start_time_skipping()
            await _run(env, scenario, result)
    finally:
        if env is not None:
            await env.shutdown()
    return results


async def _behind(env: WorkflowEnvironment, scenario: LoadedScenario) -> bool:
    """Whether the server's clock has passed the scenario's fixed start."""
    start = scenario.start
    if start is None or start.relative:
        return False
    now: datetime = await env.get_current_time()
    try:
        start.at(now, scenario.account.customer.timezone)
    except StartInPast:
        return True
    return False


async def _run(env: WorkflowEnvironment, scenario: LoadedScenario, result: Result) -> None:
    path = scenario.path
    try:
        run = await simulate_on(env, scenario)
    except ScenarioError as exc:
        result.problems.append(Problem(str(path), 1, "(scenario)", str(exc)))
        return
    data = timeline(run)
    result.outcome, result.messages = data["outcome"], len(data["messages"])
    expect = scenario.expect
    if expect is None:
        return
    result.expectations = expect.count()
    for miss in check(expect, data):
        line = scenario.lines.line_of(miss.path) if scenario.lines else 1
        result.problems.append(Problem(str(path), line, format_path(miss.path), miss.message))


def report(results: list[Result]) -> list[str]:
    lines = []
    for result in results:
        if result.passed:
            checked = (
                f"{result.expectations} expectations met"
                if result.expectations
                else "ran; it has no expect:"
            )
            lines.append(
                f"ok    {result.path}  ({result.outcome}, {result.messages} messages; {checked})"
            )
        else:
            lines += [f"MISS  {problem}" for problem in result.problems]
    failed = sum(1 for r in results if not r.passed)
    noun = "scenario" if len(results) == 1 else "scenarios"
    lines.append(f"{len(results)} {noun}, {len(results) - failed} passed, {failed} missed")
    return lines
