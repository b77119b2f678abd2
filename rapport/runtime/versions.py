"""Worker Deployment Versions: which build of the journey a worker runs, and making one
current.

Each worker is a version of the deployment `RAPPORT_DEPLOYMENT_NAME` (`rapport`) with the
build id `RAPPORT_BUILD_ID`, by default a hash of the code a journey replays: every module
of `workflows/`, every project module they import (followed through the source, not by
running it), and the versions of the libraries those import. A change to activities, the
web app or the CLI keeps the build id (a restart in place); a change to the workflow or
what it imports makes a new version, which the deploy procedure makes current
(docs/operating.md, "Upgrading").

Journeys are pinned to the version they started on and move to the current version at a
step boundary or a rest, by continuing as new (`workflows/core.py`).
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import sys
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, packages_distributions, version
from pathlib import Path

from temporalio.api.workflowservice.v1 import (
    DescribeWorkerDeploymentRequest,
    SetWorkerDeploymentCurrentVersionRequest,
)
from temporalio.client import Client
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import WorkerDeploymentConfig

from rapport.runtime.settings import Settings

PROJECT = ("workflows", "rapport", "activities")
ROOTS = ("workflows",)
DEV_BUILD = "dev"  # `worker.py --dev`: journeys replay on your edited code, as before
BEHAVIOUR = VersioningBehavior.PINNED  # the choice and its evidence: docs/operating.md


def deployment_version(settings: Settings, dev: bool = False) -> WorkerDeploymentVersion:
    """This worker's version: RAPPORT_DEPLOYMENT_NAME / RAPPORT_BUILD_ID (default: derived
    from the code, or `dev` for the development server)."""
    build = settings.build_id or (DEV_BUILD if dev else default_build_id())
    return WorkerDeploymentVersion(settings.deployment_name, build)


def deployment_config(version: WorkerDeploymentVersion) -> WorkerDeploymentConfig:
    """Worker Versioning on, journeys pinned. The behaviour is the worker's default rather
    than declared on the workflow class: a class that declares one fails every workflow
    task on an unversioned worker (the server answers "versioning behavior cannot be
    specified without deployment options being set"), and the tests, simulations and
    benchmarks run unversioned workers."""
    return WorkerDeploymentConfig(
        version=version, use_worker_versioning=True, default_versioning_behavior=BEHAVIOUR
    )


def default_build_id() -> str:
    """12 hex digits of SHA-256 over the journey's code and its libraries' versions."""
    digest = hashlib.sha256()
    modules, libraries = workflow_code()
    for name in sorted(modules):
        digest.update(name.encode() + b"\0" + modules[name].read_bytes() + b"\0")
    for library in sorted(libraries):
        digest.update(f"{library}=={libraries[library]}\0".encode())
    digest.update(f"python{sys.version_info.major}.{sys.version_info.minor}".encode())
    return digest.hexdigest()[:12]


def workflow_code() -> tuple[dict[str, Path], dict[str, str]]:
    """The project modules a journey's replay runs (name: source file), and the versions
    of the installed libraries they import (distribution: version)."""
    sources: dict[str, Path] = {}
    outside: set[str] = set()
    pending = [name for root in ROOTS for name in _package_modules(root)]
    while pending:
        name = pending.pop()
        if name in sources:
            continue
        path = _source(name)
        if path is None:
            continue
        sources[name] = path
        for imported in _imports(name, path):
            top = imported.split(".")[0]
            if top in PROJECT:
                pending.extend(_with_parents(imported))
            else:
                outside.add(top)
    return sources, _versions(outside)


def _package_modules(package: str) -> Iterator[str]:
    path = _source(package)
    assert path is not None, f"{package} is not importable"
    yield package
    for file in sorted(path.parent.rglob("*.py")):
        relative = file.relative_to(path.parent).with_suffix("")
        parts = [p for p in relative.parts if p != "__init__"]
        yield ".".join([package, *parts])


def _source(name: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        return None
    return Path(spec.origin)


def _imports(name: str, path: Path) -> Iterator[str]:
    """Every module `path` imports, by absolute name; `from a import b` yields `a` and
    `a.b` (b may be a module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_bytes(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _with_parents(name: str) -> list[str]:
    """Importing `a.b.c` runs `a` and `a.b` first."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _versions(modules: set[str]) -> dict[str, str]:
    owners = packages_distributions()
    found = {}
    for module in modules:
        for distribution in owners.get(module, []):
            try:
                found[distribution] = version(distribution)
            except PackageNotFoundError:  # pragma: no cover  (a broken install)
                continue
    return found


def label(version: WorkerDeploymentVersion) -> str:
    """`rapport:3090dc0bbb27`, as the search attribute TemporalWorkerDeploymentVersion
    holds it (`journey list`, `temporal workflow list --query ...`)."""
    return f"{version.deployment_name}:{version.build_id}"


# --- the deployment's current version ---------------------------------------------------


async def current_build(client: Client, deployment: str) -> str | None:
    """The build id of the deployment's current version; None when it has none (or the
    deployment does not exist yet)."""
    try:
        described = await client.workflow_service.describe_worker_deployment(
            DescribeWorkerDeploymentRequest(namespace=client.namespace, deployment_name=deployment)
        )
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    current = described.worker_deployment_info.routing_config.current_deployment_version
    return current.build_id or None


async def make_current(client: Client, version: WorkerDeploymentVersion) -> None:
    """What `temporal worker deployment set-current-version` does."""
    await client.workflow_service.set_worker_deployment_current_version(
        SetWorkerDeploymentCurrentVersionRequest(
            namespace=client.namespace,
            deployment_name=version.deployment_name,
            build_id=version.build_id,
            identity=client.identity,
            allow_no_pollers=True,
        )
    )


async def claim_current(client: Client, version: WorkerDeploymentVersion, always: bool) -> str:
    """Make this worker's version current when its deployment has none yet (the first
    version ever deployed), or `always` (`worker.py --dev`). Any later version is made
    current by the deploy procedure, after `journey replay-check`. Returns what to log."""
    name = label(version)
    try:
        current = await current_build(client, version.deployment_name)
    except RPCError as exc:
        if exc.status != RPCStatusCode.UNIMPLEMENTED:
            raise
        return (
            f"{name}: this server has no Worker Deployments ({exc.message}); tasks come "
            "to this worker unversioned"
        )
    if current == version.build_id:
        return f"{name} is the current version"
    if current is None or always:
        await make_current(client, version)
        was = f"(was {current})" if current else "(the deployment's first)"
        return f"{name} is now the current version {was}"
    return (
        f"{name} serves the journeys pinned to it; new journeys start on the current "
        f"version, {version.deployment_name}:{current}. Make this one current with: "
        f"temporal worker deployment set-current-version --deployment-name "
        f"{version.deployment_name} --build-id {version.build_id}"
    )
