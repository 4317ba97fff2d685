"""Which Origami key a workspace's requests go out under: the one lookup every caller
(the sender, the watcher's polls, buttons, tables, file uploads) goes through.

``OrigamiFor.for_team(team)`` gives the Origami client for a workspace key
(``bot.tenancy.workspace``): with one workspace, the client of ``ORIGAMI_API_KEY``; with
many, the shared client bound to the key the workspace connected in App Home. It raises
``errors.NotConnected`` when the workspace has none.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.origami import errors
from bot.origami.client import OrigamiClient, RequestGate
from bot.tenancy.origami_keys import OrigamiKeyStore
from bot.tenancy.secrets import SecretUnreadable

log = logging.getLogger(__name__)

# How long a process keeps a workspace's opened key: polls come many a second, and each
# would otherwise read the database and decrypt. A key removed in App Home stops being
# used by this process at once (``forget``), by the others within this long.
KEY_CACHE_SECONDS = 30.0
_KEPT = 10_000


class OrigamiFor(Protocol):
    async def for_team(self, team: str) -> OrigamiClient:
        """The client for workspace ``team``; raises ``errors.NotConnected``."""


class OneKey:
    """One workspace: ``ORIGAMI_API_KEY``, whatever the workspace."""

    def __init__(self, client: OrigamiClient) -> None:
        self.client = client

    async def for_team(self, team: str) -> OrigamiClient:
        return self.client


class WorkspaceKeys:
    """Many workspaces: each under its own key, with its organisation's request budget
    (``gate_for(organization_id)``; by default the shared client's). ``opened(team,
    organization_id)`` is told each time a key is read from the database (at most every
    ``cache_s`` per workspace and process): the watcher's claim learns from it which
    organisation's budget a workspace's polls take, with no lookup per poll."""

    def __init__(
        self,
        shared: OrigamiClient,
        keys: OrigamiKeyStore,
        *,
        gate_for: Callable[[str], RequestGate] | None = None,
        opened: Callable[[str, str], Awaitable[None]] | None = None,
        cache_s: float = KEY_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._shared = shared
        self._keys = keys
        self._gate_for = gate_for
        self._opened = opened
        self._cache_s = cache_s
        self._clock = clock
        self._kept: dict[str, tuple[float, OrigamiClient]] = {}

    async def for_team(self, team: str) -> OrigamiClient:
        kept = self._kept.get(team)
        if kept is not None and kept[0] > self._clock():
            return kept[1]
        try:
            found = await self._keys.key_for(team)
        except SecretUnreadable:
            log.error("the workspace's stored Origami key cannot be opened with SECRETS_KEY")
            found = None
        if found is None:
            self._kept.pop(team, None)
            raise errors.NotConnected(team)
        api_key, organization = found
        if self._opened is not None:
            await self._opened(team, organization)
        client = self.bound(api_key, organization)
        if len(self._kept) >= _KEPT:
            self._kept.clear()
        self._kept[team] = (self._clock() + self._cache_s, client)
        return client

    def bound(self, api_key: str, organization: str) -> OrigamiClient:
        """The shared client under ``api_key``, in ``organization``'s budget."""
        gate = self._gate_for(organization) if self._gate_for is not None else None
        return self._shared.bound(api_key, gate)

    def forget(self, team: str) -> None:
        """Drop what this process keeps for ``team`` (its key was changed or removed)."""
        self._kept.pop(team, None)


async def is_connected(origami: OrigamiFor, team: str) -> bool:
    try:
        await origami.for_team(team)
    except errors.NotConnected:
        return False
    return True
