"""One workspace's state as a whole: what it allows of Slack's agent platform (learnt once
per workspace), who has seen the Messages tab's onboarding, and what its uninstall forgets."""

from __future__ import annotations

import time
from typing import Any

from bot.agent_platform import AgentFeature
from bot.stores import keys
from bot.stores.schedule import is_team_entry

# Keys deleted per round trip while forgetting a workspace.
_BATCH = 500

# How long a process trusts what it read of a workspace's refusals. Every run's start and
# every poll that shows progress asks (a round trip each, 12 a conversation); a refusal
# learnt by another process reaches this one this much later, at the cost of at most
# one more refused call here.
_REFUSED_KEPT_S = 60.0
_TEAMS_KEPT = 10_000


class WorkspaceStore:
    def __init__(self, client: Any) -> None:
        self.redis = client
        self._refused: dict[str, tuple[float, frozenset[AgentFeature]]] = {}

    async def refused(self, team: str) -> frozenset[AgentFeature]:
        """The features this workspace refused (one MGET, whatever their number, at most
        once a minute per process)."""
        kept = self._refused.get(team)
        if kept is not None and kept[0] > time.monotonic():
            return kept[1]
        features = list(AgentFeature)
        values = await self.redis.mget([keys.refused(team, f.value) for f in features])
        found = frozenset(f for f, value in zip(features, values, strict=True) if value)
        self._keep(team, found)
        return found

    async def refuse(self, team: str, feature: AgentFeature, error: str) -> None:
        """Slack refused ``feature`` here: runs use its fallback until the record expires."""
        key = keys.refused(team, feature.value)
        await self.redis.set(key, error or "refused", ex=keys.seconds(keys.REFUSED_TTL))
        kept = self._refused.get(team)
        self._keep(team, (kept[1] if kept else frozenset()) | {feature})

    def _keep(self, team: str, refused: frozenset[AgentFeature]) -> None:
        if len(self._refused) >= _TEAMS_KEPT:
            self._refused.clear()
        self._refused[team] = (time.monotonic() + _REFUSED_KEPT_S, refused)

    async def first_visit(self, team: str, user_id: str) -> bool:
        """True once per person: the first opening of the Messages tab."""
        key = keys.onboarded(team, user_id)
        return bool(await self.redis.set(key, "1", nx=True, ex=keys.seconds(keys.ONBOARDED_TTL)))

    async def forget_visit(self, team: str, user_id: str) -> None:
        """The onboarding could not be posted: show it at the next opening."""
        await self.redis.delete(keys.onboarded(team, user_id))

    async def forget(self, team: str) -> int:
        """Delete every key of ``team`` and take its runs and kept prompts out of the
        schedule (a worker holding one loses its lease: its settle and its delivery's
        lease extension find the entry gone, so nothing more is posted). How many keys and
        entries went. SCAN, not KEYS: Redis serves everyone else meanwhile."""
        self._refused.pop(team, None)
        removed = 0
        batch: list[str] = []
        async for key in self.redis.scan_iter(match=keys.team_pattern(team), count=_BATCH):
            batch.append(key)
            if len(batch) >= _BATCH:
                removed += int(await self.redis.unlink(*batch))
                batch = []
        if batch:
            removed += int(await self.redis.unlink(*batch))
        entries = [
            entry
            async for entry, _ in self.redis.zscan_iter(keys.schedule(), count=_BATCH)
            if is_team_entry(str(entry), team)
        ]
        for start in range(0, len(entries), _BATCH):
            chunk = entries[start : start + _BATCH]
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.zrem(keys.schedule(), *chunk)
                pipe.hdel(keys.failures(), *chunk)
                gone, _ = await pipe.execute()
            removed += int(gone)
        removed += int(await self.redis.hdel(keys.budget_of_team(), team))
        return removed
