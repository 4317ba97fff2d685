"""Worker heartbeats: each process that runs the worker half writes one with a short TTL,
so any process (and ``/readyz``) can tell whether some worker is alive, wherever it runs.

One sorted set holds them all, each worker scored by the time its heartbeat runs out, read
from Redis's own clock (``TIME``), so hosts whose clocks differ agree on what is fresh.
Counting the live ones is then one ``ZCOUNT``, however many other keys the Redis holds
(a ``SCAN`` for per-worker keys would walk the whole keyspace on every probe).
"""

from __future__ import annotations

import json
from typing import Any

from bot.stores import keys

# A worker beats every ``BEAT_EVERY_S``; a heartbeat outlives ``TTL_BEATS`` beats, so a GC
# pause or a slow Redis does not make a live worker look dead.
BEAT_EVERY_S = 5.0
TTL_BEATS = 3
HEARTBEAT_TTL_S = BEAT_EVERY_S * TTL_BEATS


_NOW_MS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS: the heartbeats. Drops the ones that ran out, then writes this worker's.
_BEAT_LUA = (
    _NOW_MS
    + """
local a = cjson.decode(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + a.ttl_ms, a.worker)
if redis.call('PTTL', KEYS[1]) < a.ttl_ms then
  redis.call('PEXPIRE', KEYS[1], a.ttl_ms)
end
return 1
"""
)

# KEYS: the heartbeats. Read-only: how many heartbeats have not run out.
_LIVE_LUA = (
    _NOW_MS
    + """
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
"""
)


class HeartbeatStore:
    def __init__(self, client: Any) -> None:
        self.redis = client
        self._beat = client.register_script(_BEAT_LUA)
        self._live = client.register_script(_LIVE_LUA)

    async def beat(self, worker_id: str, ttl_s: float = HEARTBEAT_TTL_S) -> None:
        """This worker is alive for the next ``ttl_s`` seconds."""
        args = {"worker": worker_id, "ttl_ms": round(ttl_s * 1000)}
        await self._beat(keys=[keys.heartbeats()], args=[json.dumps(args)])

    async def gone(self, worker_id: str) -> None:
        """A worker stopping cleanly says so at once instead of waiting for its TTL."""
        await self.redis.zrem(keys.heartbeats(), worker_id)

    async def live_workers(self) -> int:
        """How many workers beat within their TTL."""
        return int(await self._live(keys=[keys.heartbeats()]))
