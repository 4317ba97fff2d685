"""What a Redis server says about itself, for ``python -m bot doctor``: its version, whether
it persists (AOF), whether it may evict keys, and how long a round trip takes.

Read-only: ``INFO server``, ``CONFIG GET`` and a few ``PING``s. Managed Redis services often
refuse ``CONFIG``; the settings it would have read are then ``None`` (not checked), never
an error.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ResponseError

if TYPE_CHECKING:
    from bot.stores import Stores

PINGS = 5


@dataclass(frozen=True, slots=True)
class ServerFacts:
    version: str
    # standalone, sentinel or cluster (INFO's redis_mode).
    mode: str
    # CONFIG GET values; None when the server refused CONFIG.
    appendonly: str | None
    appendfsync: str | None
    maxmemory_policy: str | None
    ping_ms: tuple[float, ...]

    @property
    def version_tuple(self) -> tuple[int, ...]:
        parts = []
        for part in self.version.split("."):
            if not part.isdigit():
                break
            parts.append(int(part))
        return tuple(parts)

    @property
    def median_ping_ms(self) -> float:
        return statistics.median(self.ping_ms) if self.ping_ms else 0.0


async def server_facts(client: Any, pings: int = PINGS) -> ServerFacts:
    info = await client.info("server")
    config = await _config(client, ("appendonly", "appendfsync", "maxmemory-policy"))
    rtts = []
    for _ in range(pings):
        started = time.perf_counter()
        await client.ping()
        rtts.append((time.perf_counter() - started) * 1000)
    return ServerFacts(
        version=str(info.get("redis_version", "")),
        mode=str(info.get("redis_mode", "standalone")),
        appendonly=config.get("appendonly"),
        appendfsync=config.get("appendfsync"),
        maxmemory_policy=config.get("maxmemory-policy"),
        ping_ms=tuple(rtts),
    )


async def _config(client: Any, names: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        # One name per call: CONFIG GET takes several only from Redis 7 on.
        for name in names:
            out.update(await client.config_get(name))
    except ResponseError:
        # "unknown command" (renamed or disabled) or NOPERM: managed Redis, usually.
        return {}
    return out


def connect_briefly(url: str, timeout_s: float) -> Stores:
    """The stores on ``url`` for a one-off check: one connection, short timeouts and no
    retries, so an unreachable Redis is reported within ``timeout_s`` instead of after the
    app's patient reconnects."""
    from bot.stores import Stores

    client = redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=timeout_s,
        socket_timeout=timeout_s,
        retry=Retry(NoBackoff(), 0),
        single_connection_client=True,
    )
    return Stores.on(client)
