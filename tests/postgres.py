"""A real PostgreSQL 16 for the tests, from the `pgserver` package: no system install,
started in about a second, a fresh database per test."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text


@dataclass
class Postgres:
    server: Any
    base_url: str

    @classmethod
    def start(cls, data: Path, runtime: Path) -> Postgres:
        """PostgreSQL on `data` (a folder its parents let others traverse); pgserver keeps
        its lock file under `runtime`."""
        os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))  # pgserver asks for one
        import pgserver

        server = pgserver.get_server(data, cleanup_mode="stop")
        return cls(server, server.get_uri().replace("postgresql://", "postgresql+psycopg://"))

    def new_database(self, name: str, template: str | None = None) -> str:
        """An empty database, or a copy of `template` (one nobody is connected to)."""
        engine = create_engine(self.base_url, isolation_level="AUTOCOMMIT")
        copy = f' TEMPLATE "{template}"' if template else ""
        with engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"{copy}'))
        engine.dispose()
        return self.url_of(name)

    def url_of(self, name: str) -> str:
        return self.base_url.replace("/postgres?", f"/{name}?")

    def stop(self) -> None:
        self.server.cleanup()
