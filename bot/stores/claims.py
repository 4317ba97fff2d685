"""First one wins: a Slack event or a one-shot click is handled by one process, once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.stores import keys


class ClaimStore:
    def __init__(self, client: Any) -> None:
        self.redis = client

    async def _claim(self, key: str, ttl: timedelta) -> bool:
        return bool(await self.redis.set(key, "1", nx=True, ex=keys.seconds(ttl)))

    async def claim_event(self, team: str, event_id: str) -> bool:
        return await self._claim(keys.event(team, event_id), keys.EVENT_TTL)

    async def claim_action(self, team: str, fingerprint: str) -> bool:
        return await self._claim(keys.action(team, fingerprint), keys.ACTION_TTL)

    async def claim_credits_check(self, team: str) -> bool:
        return await self._claim(keys.credits_checked(team), keys.CREDITS_CHECK_TTL)

    async def claim_credits_warning(self, team: str) -> bool:
        return await self._claim(keys.credits_warned(team), keys.CREDITS_WARNING_TTL)
