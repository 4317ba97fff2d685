"""What a workspace allows of Slack's agent platform, learnt once per workspace, and who
has seen the Messages tab's onboarding."""

from __future__ import annotations

from typing import Any

from bot.agent_platform import AgentFeature
from bot.stores import keys


class WorkspaceStore:
    def __init__(self, client: Any) -> None:
        self.redis = client

    async def refused(self, team: str) -> frozenset[AgentFeature]:
        """The features this workspace refused (one MGET, whatever their number)."""
        features = list(AgentFeature)
        values = await self.redis.mget([keys.refused(team, f.value) for f in features])
        return frozenset(f for f, value in zip(features, values, strict=True) if value)

    async def refuse(self, team: str, feature: AgentFeature, error: str) -> None:
        """Slack refused ``feature`` here: runs use its fallback until the record expires."""
        key = keys.refused(team, feature.value)
        await self.redis.set(key, error or "refused", ex=keys.seconds(keys.REFUSED_TTL))

    async def first_visit(self, team: str, user_id: str) -> bool:
        """True once per person: the first opening of the Messages tab."""
        key = keys.onboarded(team, user_id)
        return bool(await self.redis.set(key, "1", nx=True, ex=keys.seconds(keys.ONBOARDED_TTL)))

    async def forget_visit(self, team: str, user_id: str) -> None:
        """The onboarding could not be posted: show it at the next opening."""
        await self.redis.delete(keys.onboarded(team, user_id))
