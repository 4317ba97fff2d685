"""Each workspace's settings (``bot.workspace_settings``), and this process's short copy.

Every message's intake asks for them: a process keeps what it read for a while, so a
mention costs no round trip for them; a change made in another process reaches this one
this much later (the process that saves one uses it at once).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from bot.agent_platform import SuggestedPrompt
from bot.stores import keys
from bot.workspace_settings import DEFAULT_SETTINGS, UNREADABLE_SETTINGS, WorkspaceSettings

log = logging.getLogger(__name__)

SETTINGS_KEPT_S = 30.0
_TEAMS_KEPT = 10_000


class SettingsStore:
    def __init__(self, client: Any, clock: Callable[[], float] = time.monotonic) -> None:
        self.redis = client
        self._clock = clock
        self._kept: dict[str, tuple[float, WorkspaceSettings]] = {}

    async def get(self, team: str) -> WorkspaceSettings:
        """The workspace's settings: the defaults when it has none; ``UNREADABLE_SETTINGS``
        (everyone refused, an admin can save them again) when what is stored does not read:
        an admin chose limits, and answering as if there were none would drop them."""
        kept = self._kept.get(team)
        if kept is not None and kept[0] > self._clock():
            return kept[1]
        key = keys.workspace_settings(team)
        # Read and re-armed in one round trip (GETEX needs Redis 6.2; README asks for 6).
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.get(key)
            pipe.expire(key, keys.seconds(keys.SETTINGS_TTL))
            raw, _ = await pipe.execute()
        settings = _load(raw, team)
        self._keep(team, settings)
        return settings

    async def save(self, team: str, settings: WorkspaceSettings) -> None:
        key = keys.workspace_settings(team)
        await self.redis.set(key, settings.model_dump_json(), ex=keys.seconds(keys.SETTINGS_TTL))
        self._keep(team, settings)

    def _keep(self, team: str, settings: WorkspaceSettings) -> None:
        if len(self._kept) >= _TEAMS_KEPT:
            self._kept.clear()
        self._kept[team] = (self._clock() + SETTINGS_KEPT_S, settings)

    def forget(self, team: str) -> None:
        self._kept.pop(team, None)


_FIELDS = frozenset(WorkspaceSettings.model_fields) - {"unreadable"}
_PROMPT_FIELDS = frozenset(SuggestedPrompt.model_fields)


def _load(raw: str | None, team: str) -> WorkspaceSettings:
    if not raw:
        return DEFAULT_SETTINGS
    try:
        return WorkspaceSettings.model_validate(_known(json.loads(raw)))
    except (ValueError, ValidationError):
        log.error(
            "unreadable workspace settings in Redis; no one is answered until an admin saves "
            "them again in App Home",
            extra={"team": team},
        )
        return UNREADABLE_SETTINGS


def _known(record: Any) -> Any:
    """The fields this version knows: a record written by another version (a rolling
    deploy) may hold more, which are no reason to drop the limits it holds."""
    if not isinstance(record, dict):
        return record
    known = {k: v for k, v in record.items() if k in _FIELDS}
    prompts = known.get("prompts")
    if isinstance(prompts, list):
        known["prompts"] = [
            {k: v for k, v in p.items() if k in _PROMPT_FIELDS} if isinstance(p, dict) else p
            for p in prompts
        ]
    return known
