"""Which Slack Web API client speaks for a workspace.

Bolt gives a listener a client with its request's token; a worker posting a result long
after has only the thread's workspace key. ``SlackFor.for_team`` is that lookup: the one
bot token (one workspace), or the installation's (many; slack_sdk's installation store).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.web.async_client import AsyncWebClient

from bot.tenancy.workspace import Workspace

# Clients kept, one per bot token: more than the workspaces one process serves at once.
_CLIENTS_KEPT = 5_000
# How long a process trusts an installation it read. Without it every Slack call (a
# result is several: post, status, session, previews) read the installations' database:
# the many-workspace bench's quiet organisations polled 374 ms late at p95 against 35 ms
# with one workspace. The process that handles an uninstall forgets at once (``forget``);
# the others within this long, during which Slack itself refuses the revoked token and
# the uninstall has already taken the workspace's runs out of the schedule.
INSTALLATION_CACHE_S = 10.0


class WorkspaceGone(Exception):
    """The workspace has no installation (never installed, or uninstalled): nothing may be
    posted there."""


class SlackFor(Protocol):
    async def for_team(self, team: str) -> AsyncWebClient:
        """The client for the workspace ``team`` (its key); raises ``WorkspaceGone``."""


class OneWorkspace:
    """One workspace (``SLACK_BOT_TOKEN``): the same client whatever the key."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def for_team(self, team: str) -> AsyncWebClient:
        return self.client


class InstalledWorkspaces:
    """Many workspaces: the bot token of each one's installation (slack_sdk's store), kept
    ``cache_s`` per process."""

    def __init__(
        self,
        installations: AsyncInstallationStore,
        make_client: Callable[[str], AsyncWebClient],
        *,
        cache_s: float = INSTALLATION_CACHE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._installations = installations
        self._make_client = make_client
        self._cache_s = cache_s
        self._clock = clock
        self._clients: dict[str, AsyncWebClient] = {}
        self._kept: dict[str, tuple[float, AsyncWebClient]] = {}

    async def for_team(self, team: str) -> AsyncWebClient:
        kept = self._kept.get(team)
        if kept is not None and kept[0] > self._clock():
            return kept[1]
        workspace = Workspace.parse(team)
        if workspace is None:
            raise WorkspaceGone(team)
        bot = await self._installations.async_find_bot(
            enterprise_id=workspace.enterprise_id,
            team_id=workspace.team_id,
            is_enterprise_install=workspace.is_enterprise_install,
        )
        if bot is None or not bot.bot_token:
            self._kept.pop(team, None)
            raise WorkspaceGone(team)
        client = self._clients.get(bot.bot_token)
        if client is None:
            if len(self._clients) >= _CLIENTS_KEPT:
                self._clients.clear()
            client = self._clients[bot.bot_token] = self._make_client(bot.bot_token)
        if len(self._kept) >= _CLIENTS_KEPT:
            self._kept.clear()
        self._kept[team] = (self._clock() + self._cache_s, client)
        return client

    def forget(self, team: str) -> None:
        """The workspace uninstalled: this process stops using its token at once."""
        self._kept.pop(team, None)
