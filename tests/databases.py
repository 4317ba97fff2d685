"""A database of its own for each test that needs one: a SQLite file, or a fresh
PostgreSQL database on the machine's server (created, then dropped), so that runs side
by side never share slack_sdk's tables."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
KINDS = ["sqlite", "postgresql"]


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(POSTGRES_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def database_url(kind: str, tmp_path: Path) -> Iterator[str]:
    """A ``DATABASE_URL`` as an operator writes it (the app adds the async driver)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'installations.db'}"
        return
    name = f"ogs_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
