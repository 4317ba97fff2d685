"""The conversations each person started, newest first, for ``/origami list``."""

from __future__ import annotations

from typing import Any

from bot.domain import StartedConversation
from bot.stores import codec, keys


class StartedStore:
    def __init__(self, client: Any) -> None:
        self.redis = client

    async def add(self, team: str, user_id: str, started: StartedConversation) -> None:
        """Idempotent: the same conversation is one member (a retried start adds nothing)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            add_in(pipe, team, user_id, started)
            await pipe.execute()

    async def newest(self, team: str, user_id: str, limit: int) -> list[StartedConversation]:
        raw = await self.redis.zrevrange(
            keys.started(team, user_id), 0, max(0, limit - 1), withscores=True
        )
        found = (codec.load_started(member, float(score)) for member, score in raw)
        return [started for started in found if started is not None]


def add_in(pipe: Any, team: str, user_id: str, started: StartedConversation) -> None:
    """Queue the add on a transaction of another store's (a conversation is listed in the
    MULTI that starts watching its first run: no round trip of its own)."""
    key = keys.started(team, user_id)
    pipe.zadd(key, {codec.dump_started(started): started.started_at})
    # Keep the newest only: a person's list stays short however much they start.
    pipe.zremrangebyrank(key, 0, -keys.STARTED_MAX - 1)
    pipe.expire(key, keys.seconds(keys.STARTED_TTL))
