"""What a workspace allows of Slack's agent platform, learnt once per workspace, and who
has seen the Messages tab's onboarding."""

from __future__ import annotations

import time
from typing import Any

from bot.agent_platform import AgentFeature
from bot.stores import keys

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
