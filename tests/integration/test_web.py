"""The ASGI app in-process: health follows Redis; Slack requests must be signed."""

from __future__ import annotations

import httpx
import redis.asyncio as aredis
from slack_bolt.async_app import AsyncApp

from bot.slack.web import create_web_app
from bot.store import Store
from bot.workers import Workers
from tests.conftest import free_port


def _bolt() -> AsyncApp:
    return AsyncApp(token="xoxb-test", signing_secret="secret")


async def test_healthz_is_503_when_redis_is_down() -> None:
    dead = Store(aredis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5))
    try:
        web = create_web_app(_bolt(), dead)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=web), base_url="http://t"
        ) as c:
            response = await c.get("/healthz")
        assert response.status_code == 503
        assert response.json() == {"ok": False, "redis": "down"}
    finally:
        await dead.close()


async def test_healthz_is_200_with_redis(store: Store) -> None:
    web = create_web_app(_bolt(), store)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://t") as c:
        assert (await c.get("/healthz")).status_code == 200
        unsigned = await c.post("/slack/events", content=b'{"type": "event_callback"}')
    assert unsigned.status_code == 401


async def test_healthz_is_503_when_a_worker_stays_down(store: Store) -> None:
    workers = Workers(2)  # none started: as after both died and failed to come back
    for grace, status in ((60.0, 200), (0.0, 503)):
        web = create_web_app(_bolt(), store, workers=lambda g=grace: workers.health(g))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=web), base_url="http://t"
        ) as c:
            response = await c.get("/healthz")
        # Being restarted is fine for a while; down for longer, the probe fails.
        assert response.status_code == status
        assert response.json()["workers"] == "0 of 2 running"
        assert response.json()["redis"] == "up"
