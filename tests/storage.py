"""What tests read of Redis directly, beside the stores (which hold only what the app
uses): a kept prompt, when the schedule is next due, and emptying the database."""

from __future__ import annotations

from typing import Any, cast

from bot.domain import KeptPrompt
from bot.stores import Stores, codec, keys


def client(stores: Stores) -> Any:
    return stores._client


async def flush(stores: Stores) -> None:
    await client(stores).flushdb()


async def next_due_ms(stores: Stores) -> int | None:
    first = await client(stores).zrange(keys.schedule(), 0, 0, withscores=True)
    return int(first[0][1]) if first else None


async def kept(stores: Stores, team: str, prompt_id: str) -> KeptPrompt | None:
    data = cast(dict[str, str], await client(stores).hgetall(keys.kept(team, prompt_id)))
    return codec.load_kept(data) if data else None
