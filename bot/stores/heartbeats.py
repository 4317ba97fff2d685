"""Worker heartbeats: each worker writes a key with a short TTL, so any process (and
``/readyz``) can tell whether some worker is alive, wherever it runs."""

from __future__ import annotations

from typing import Any

PREFIX = "ogs:workers:"
# A worker beats every ``BEAT_EVERY_S``; a heartbeat outlives three missed beats, so a
# GC pause or a slow Redis does not make a live worker look dead.
BEAT_EVERY_S = 5.0
HEARTBEAT_TTL_S = 15


def heartbeat_key(worker_id: str) -> str:
    """STRING with a TTL: this worker was alive within ``HEARTBEAT_TTL_S``."""
    return PREFIX + worker_id


class HeartbeatStore:
    def __init__(self, client: Any) -> None:
        self.redis = client

    async def beat(self, worker_id: str, ttl_s: int = HEARTBEAT_TTL_S) -> None:
        await self.redis.set(heartbeat_key(worker_id), "1", ex=ttl_s)

    async def gone(self, worker_id: str) -> None:
        """A worker stopping cleanly says so at once instead of waiting for its TTL."""
        await self.redis.delete(heartbeat_key(worker_id))

    async def live_workers(self) -> int:
        """How many workers beat within their TTL (an expired key is gone: none counted)."""
        count = 0
        async for _ in self.redis.scan_iter(match=PREFIX + "*", count=100):
            count += 1
        return count
