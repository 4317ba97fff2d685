"""Kept prompts: a person's prompt from the moment it is taken until Origami has it.

A kept prompt is written by the intake step (``ThreadStore.take``) and sent by whichever
worker claims its schedule entry; it is dropped when its run is watched
(``RunStore.watch``) or when it is given up.
"""

from __future__ import annotations

from typing import Any

from bot.domain import KeptPrompt
from bot.stores import keys
from bot.stores.schedule import prompt_entry


class KeptPromptStore:
    def __init__(self, client: Any) -> None:
        self.redis = client

    async def save_try(self, item: KeptPrompt) -> None:
        """Record a try that did not go through (its attempt and count); the worker's
        settle schedules the next."""
        key = keys.kept(item.team, item.id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={"attempt": str(item.attempt), "tries": str(item.tries)})
            pipe.expire(key, keys.seconds(keys.PENDING_TTL))
            await pipe.execute()

    async def drop(self, item: KeptPrompt) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.kept(item.team, item.id))
            pipe.zrem(keys.schedule(), prompt_entry(item.team, item.id))
            await pipe.execute()
