"""The result messages of a thread whose one-shot buttons (next steps, Continue, Retry)
are live: kept when a run is delivered, taken (once) when a newer run starts, which closes
them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.domain import ThreadRef
from bot.stores import keys


class OpenButtonsStore:
    def __init__(self, client: Any) -> None:
        self.redis = client

    async def keep(self, thread: ThreadRef, run_id: str, message_ts: Sequence[str]) -> None:
        key = keys.open_buttons(thread.team, thread.channel, thread.thread_ts)
        value = json.dumps({"run": run_id, "ts": list(message_ts)})
        await self.redis.set(key, value, ex=keys.seconds(keys.OPEN_BUTTONS_TTL))

    async def take(self, thread: ThreadRef) -> list[str]:
        """The ts of the messages to close, once: read and deleted in one transaction, so
        two processes never both close them."""
        async with self.redis.pipeline(transaction=True) as pipe:
            take_in(pipe, thread)
            raw, _ = await pipe.execute()
        return parse_taken(raw)


def take_in(pipe: Any, thread: ThreadRef) -> None:
    """Queue the take on a transaction of another store's (a newer run's start takes the
    buttons it closes in the MULTI that starts watching it: no round trip of its own).
    Two results: what ``parse_taken`` reads, then the delete's."""
    key = keys.open_buttons(thread.team, thread.channel, thread.thread_ts)
    pipe.get(key)
    pipe.delete(key)


def parse_taken(raw: Any) -> list[str]:
    if raw is None:
        return []
    try:
        return [str(ts) for ts in json.loads(raw)["ts"]]
    except (ValueError, KeyError, TypeError):
        return []
