"""Feedback on results: one verdict per person and result, the first click kept."""

from __future__ import annotations

from typing import Any

from bot.domain import Verdict
from bot.stores import keys


class FeedbackStore:
    def __init__(self, client: Any) -> None:
        self.redis = client

    async def record(self, team: str, run_id: str, user_id: str, verdict: Verdict) -> bool:
        """True when this is ``user_id``'s first feedback on the run's result."""
        key = keys.feedback(team, run_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(key, user_id, verdict.value)
            pipe.expire(key, keys.seconds(keys.FEEDBACK_TTL))
            first, _ = await pipe.execute()
        return bool(first)
