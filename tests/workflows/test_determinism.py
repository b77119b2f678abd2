"""Workflow code is deterministic: what the sandbox would catch, checked here for the
modules passed through it (see workflows/sandbox.py), and for the one it runs."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
MODULES = sorted(p for p in WORKFLOWS.glob("*.py") if p.name != "sandbox.py")
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


@pytest.mark.parametrize("path", MODULES, ids=[p.stem for p in MODULES])
def test_workflow_code_reads_no_clock_no_chance_and_does_no_io(path: Path) -> None:
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
            if name in FORBIDDEN_CALLS and (owner, name) not in ALLOWED:
                found.append(f"{owner + '.' if owner else ''}{name}() at line {node.lineno}")
    assert found == [], f"{path.name}: {found}"


def test_the_check_catches_a_clock_read(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("from datetime import datetime\ndef f():\n    return datetime.now()\n")
    with pytest.raises(AssertionError, match=r"datetime.now\(\)"):
        test_workflow_code_reads_no_clock_no_chance_and_does_no_io(sneaky)
