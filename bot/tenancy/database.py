"""The SQL database of a multi-workspace deployment (``DATABASE_URL``): Slack's
installations and OAuth states in slack_sdk's own SQLAlchemy stores, and each workspace's
Origami key beside them (``bot.tenancy.origami_keys``).

SQLite (a file) is the embedded choice for a trial; PostgreSQL the one for production, and
the one that several processes share. Tables are created on start when missing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.tenancy.origami_keys import OrigamiKeyStore
from bot.tenancy.secrets import SecretBox

log = logging.getLogger(__name__)

# Slack's OAuth state (the CSRF token of one "Add to Slack") lives ten minutes, as Bolt's
# default: a person who takes longer to click "Allow" starts again.
OAUTH_STATE_SECONDS = 600


@dataclass
class Database:
    engine: AsyncEngine
    installations: AsyncSQLAlchemyInstallationStore
    states: AsyncSQLAlchemyOAuthStateStore
    origami_keys: OrigamiKeyStore

    async def create_tables(self) -> None:
        """Create what is missing. Two processes starting at once may race on it: the
        loser finds the tables there on its second look."""
        for attempt in (1, 2):
            try:
                # (slack_sdk's stores are untyped.)
                await self.installations.create_tables()  # type: ignore[no-untyped-call]
                await self.states.create_tables()  # type: ignore[no-untyped-call]
                await self.origami_keys.create_tables()
                return
            except DBAPIError:
                if attempt == 2:
                    raise
                log.info("tables created by another process meanwhile; looking again")

    async def aclose(self) -> None:
        await self.engine.dispose()


def open_database(url: str, *, client_id: str, box: SecretBox, **engine_options: Any) -> Database:
    """``engine_options``: passed to SQLAlchemy's ``create_async_engine`` (tests set a
    PostgreSQL schema of their own through ``connect_args``)."""
    engine = create_async_engine(url, pool_pre_ping=True, **engine_options)
    return Database(
        engine=engine,
        installations=AsyncSQLAlchemyInstallationStore(client_id=client_id, engine=engine),
        states=AsyncSQLAlchemyOAuthStateStore(
            expiration_seconds=OAUTH_STATE_SECONDS, engine=engine
        ),
        origami_keys=OrigamiKeyStore(engine, box),
    )
