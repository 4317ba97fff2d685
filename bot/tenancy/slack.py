"""Which Slack Web API client speaks for a workspace.

Bolt gives a listener a client with its request's token; a worker posting a result long
after has only the thread's workspace key. ``SlackFor.for_team`` is that lookup: the one
bot token (one workspace), or the installation's (many; slack_sdk's installation store).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.web.async_client import AsyncWebClient

from bot.tenancy.workspace import Workspace

# Clients kept, one per bot token: more than the workspaces one process serves at once.
_CLIENTS_KEPT = 5_000
# How long a process trusts an installation it read. Without it every Slack call (a
# result is several: post, status, session, previews) reads the installations' database,
# one query each, and under load waits for the pool's connections (seen in the bench as
# progress updates timing out on the pool). It is not what bounds the many-workspace
# bench's poll delay: side by side, 0 s and 10 s gave the same CPU and delays (README,
# "The installation cache, side by side"). The process that handles an uninstall
# forgets at once (``forget``); the others (the workers, which post) when Slack first
# refuses the revoked token (``TokenRefused``), or within this long.
INSTALLATION_CACHE_S = 10.0
# Slack's answers to a token that no longer speaks for its workspace.
REFUSED_TOKEN_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"}
)


class WorkspaceGone(Exception):
    """The workspace has no installation (never installed, or uninstalled): nothing may be
    posted there."""


class TokenRefused(SlackApiError, WorkspaceGone):
    """Slack refused a kept installation's token (uninstalled or revoked in the meantime):
    still a ``SlackApiError`` for code that reads Slack's error, and ``WorkspaceGone`` for
    code that stops there quietly."""

    def __init__(self, exc: SlackApiError) -> None:
        SlackApiError.__init__(self, str(exc), exc.response)  # type: ignore[no-untyped-call]


def _refused_token(exc: SlackApiError) -> bool:
    data = getattr(exc.response, "data", None)
    return isinstance(data, dict) and data.get("error") in REFUSED_TOKEN_ERRORS


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
            client = self._clients[bot.bot_token] = self._watched(bot.bot_token)
        if len(self._kept) >= _CLIENTS_KEPT:
            self._kept.clear()
        self._kept[team] = (self._clock() + self._cache_s, client)
        return client

    def forget(self, team: str) -> None:
        """The workspace uninstalled: this process stops using its token at once."""
        self._kept.pop(team, None)

    def _watched(self, token: str) -> AsyncWebClient:
        """A client that drops itself from this process's copies the first time Slack
        refuses its token. The uninstall event reaches one process; the others learn it
        here, at their next call, instead of posting with a dead token until the copy
        expires (and logging each refusal as a failure)."""
        client = self._make_client(token)
        call = client.api_call

        async def api_call(api_method: str, **kwargs: Any) -> Any:
            try:
                return await call(api_method, **kwargs)
            except SlackApiError as exc:
                if not _refused_token(exc):
                    raise
                self._drop(token, client)
                raise TokenRefused(exc) from exc

        client.api_call = api_call  # type: ignore[method-assign]
        return client

    def _drop(self, token: str, client: AsyncWebClient) -> None:
        if self._clients.get(token) is client:
            del self._clients[token]
        for team in [t for t, (_, kept) in self._kept.items() if kept is client]:
            del self._kept[team]
