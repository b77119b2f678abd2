"""Workflow code is deterministic: what the sandbox would catch, checked here for the
modules passed through it (see workflows/sandbox.py), and for the one it runs."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / "workflows"
OURS = ("rapport", "workflows")


def module_file(name: str) -> Path | None:
    path = ROOT.joinpath(*name.split("."))
    if (path / "__init__.py").exists():
        return path / "__init__.py"
    return path.with_suffix(".py") if path.with_suffix(".py").exists() else None


def imported_by_the_workflow(start: str = "workflows.journey") -> dict[str, Path]:
    """Every module of ours the workflow imports, following the imports (and their
    packages): what runs, or could run, in the workflow's thread."""
    found: dict[str, Path] = {}
    queue = [start]
    while queue:
        name = queue.pop()
        path = module_file(name)
        if name in found or path is None:
            continue
        found[name] = path
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for imported in names:
                parts = imported.split(".")
                if parts[0] in OURS:
                    queue += [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
    return found


MODULES = imported_by_the_workflow()
# What a module the workflow imports may hold although the workflow never runs it there,
# each with the reason; anything else found is a failure.
ALLOWED_IN: dict[str, set[str]] = {
    # a lock around this process's cache of pinned journeys; it starts no thread
    "rapport.catalog.registry": {"import threading"},
    # reads a journey's YAML files for `journey validate` and the worker's library
    # (activities); the workflow gets definitions from the registry, never from files
    "rapport.language.loader": {"open()"},
    # the channels' own words are read from their catalogs once, at import (like code),
    # never while a workflow runs
    "rapport.channels.speech": {"path.open()"},
    # `render_within` gives a render a thread and a time budget; only TemplateBundle.render
    # calls it, which activities and the CLI call, never the workflow (checked below)
    "rapport.language.sandbox": {"import threading"},
}
FORBIDDEN_IMPORTS = {
    "random",
    "uuid",
    "time",
    "os",
    "socket",
    "threading",
    "subprocess",
    "secrets",
    "httpx",
    "aiohttp",
    "requests",
    "sqlite3",
    "sqlalchemy",
    "asyncio",
    "concurrent",
}
FORBIDDEN_CALLS = {
    "now",
    "utcnow",
    "today",
    "sleep",
    "time",
    "monotonic",
    "perf_counter",
    "uuid4",
    "urandom",
    "random",
    "randint",
    "choice",
    "open",
    "getenv",
}
ALLOWED = {
    ("workflow", "now"),
    ("workflow", "sleep"),
    ("workflow", "uuid4"),
    ("workflow", "random"),
}


def test_the_workflow_s_imports_are_all_followed() -> None:
    assert {"workflows.steps", "rapport.language.expressions", "rapport.policy.schedule"} <= set(
        MODULES
    )
    assert len(MODULES) > 30


@pytest.mark.parametrize("name", sorted(MODULES))
def test_workflow_code_reads_no_clock_no_chance_and_does_no_io(name: str) -> None:
    found = findings(MODULES[name])
    assert found - ALLOWED_IN.get(name, set()) == set(), f"{name}: {sorted(found)}"


def findings(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
            )
            found += [f"import {n}" for n in names if n.split(".")[0] in FORBIDDEN_IMPORTS]
        if isinstance(node, ast.Call):
            function = node.func
            name = (
                function.attr
                if isinstance(function, ast.Attribute)
                else function.id
                if isinstance(function, ast.Name)
                else ""
            )
            owner = (
                function.value.id
                if isinstance(function, ast.Attribute) and isinstance(function.value, ast.Name)
                else ""
            )
            constructor = name == "time" and not owner and bool(node.args)  # datetime.time(8)
            if name in FORBIDDEN_CALLS and (owner, name) not in ALLOWED and not constructor:
                found.append(f"{owner + '.' if owner else ''}{name}()")
    return set(found)


def test_the_check_catches_a_clock_read(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("from datetime import datetime\ndef f():\n    return datetime.now()\n")
    assert findings(sneaky) == {"datetime.now()"}


def test_the_workflow_renders_no_template() -> None:
    """Rendering (a designer's template, with its time budget) happens in the send
    activity; the workflow only picks the template's name and the fields it reads."""
    for path in WORKFLOWS.glob("*.py"):
        calls = [
            node
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("render", "render_within")
        ]
        assert calls == [], path.name
