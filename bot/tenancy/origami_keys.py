"""Each workspace's Origami key, encrypted at rest, and what Origami said about it.

One row per workspace (``bot.tenancy.workspace``'s key). The key itself is only ever
stored sealed (``SecretBox``) and opened by ``key_for`` to make requests; everything shown
to people comes from ``Connection``, which holds its last 4 characters and nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, LargeBinary, MetaData, String, Table, delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.tenancy.secrets import SecretBox

TABLE_NAME = "origami_workspace_keys"


@dataclass(frozen=True, slots=True)
class Connection:
    """A workspace's connection to Origami, as App Home shows it (never the key)."""

    workspace: str
    last4: str
    organization_id: str
    organization_name: str
    plan_name: str
    set_by: str
    set_at: datetime


def _table(metadata: MetaData) -> Table:
    return Table(
        TABLE_NAME,
        metadata,
        Column("workspace", String(80), primary_key=True),
        Column("sealed_key", LargeBinary, nullable=False),
        Column("last4", String(4), nullable=False),
        Column("organization_id", String(64), nullable=False),
        Column("organization_name", String(200), nullable=False),
        Column("plan_name", String(200), nullable=False),
        Column("set_by", String(32), nullable=False),
        Column("set_at", DateTime(timezone=True), nullable=False),
    )


class OrigamiKeyStore:
    def __init__(self, engine: AsyncEngine, box: SecretBox) -> None:
        self._engine = engine
        self._box = box
        self._metadata = MetaData()
        self._rows = _table(self._metadata)

    async def create_tables(self) -> None:
        async with self._engine.begin() as conn:
            await conn.run_sync(self._metadata.create_all)

    async def save(self, connection: Connection, api_key: str) -> None:
        """Store ``api_key`` (sealed) for the workspace, replacing any earlier one."""
        row = {
            "workspace": connection.workspace,
            "sealed_key": self._box.seal(api_key),
            "last4": connection.last4,
            "organization_id": connection.organization_id,
            "organization_name": connection.organization_name,
            "plan_name": connection.plan_name,
            "set_by": connection.set_by,
            "set_at": connection.set_at,
        }
        async with self._engine.begin() as conn:
            await conn.execute(delete(self._rows).where(self._rows.c.workspace == row["workspace"]))
            await conn.execute(self._rows.insert().values(**row))

    async def connection(self, workspace: str) -> Connection | None:
        columns = [c for c in self._rows.c if c.name != "sealed_key"]
        async with self._engine.connect() as conn:
            result = await conn.execute(select(*columns).where(self._rows.c.workspace == workspace))
            row = result.mappings().first()
        if row is None:
            return None
        set_at = row["set_at"]
        if set_at.tzinfo is None:  # SQLite keeps no zone; what was written was UTC
            set_at = set_at.replace(tzinfo=UTC)
        return Connection(**{**dict(row), "set_at": set_at})

    async def key_for(self, workspace: str) -> tuple[str, str] | None:
        """The workspace's key, opened, and its organisation's id; None if it has none.
        Raises ``SecretUnreadable`` when no key of ``SECRETS_KEY`` opens it."""
        query = select(self._rows.c.sealed_key, self._rows.c.organization_id).where(
            self._rows.c.workspace == workspace
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            return None
        return self._box.open(bytes(row[0])), str(row[1])

    async def delete(self, workspace: str) -> bool:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(self._rows).where(self._rows.c.workspace == workspace)
            )
        return bool(result.rowcount)


def now() -> datetime:
    return datetime.now(UTC)
