"""The ASGI app in-process against a real Redis: /healthz is this process alive, /readyz
Redis and a worker heartbeat; Slack requests must be signed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import redis.asyncio as aredis
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette

from bot.slack.web import create_web_app
from bot.stores import Stores
from tests.conftest import free_port


def _bolt() -> AsyncApp:
    return AsyncApp(token="xoxb-test", signing_secret="secret")


async def _get(web: Starlette, path: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://t") as c:
        return await c.get(path)


@pytest.fixture
async def dead_store() -> AsyncIterator[Stores]:
    dead = Stores.on(aredis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5))
    try:
        yield dead
    finally:
        await dead.close()


async def test_healthz_is_200_with_the_role_even_when_redis_is_down(dead_store: Stores) -> None:
    for role in ("all", "web"):
        web = create_web_app(_bolt(), dead_store, dead_store.heartbeats, role=role)
        response = await _get(web, "/healthz")
        # Liveness is this process only: a Redis outage must not get it restarted.
        assert response.status_code == 200
        assert response.json() == {"ok": True, "role": role}


async def test_readyz_is_503_when_redis_is_down(dead_store: Stores) -> None:
    web = create_web_app(_bolt(), dead_store, dead_store.heartbeats, role="web")
    response = await _get(web, "/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["ok"] is False and body["role"] == "web"
    assert body["redis"] == "down"
    assert "Redis does not answer" in body["missing"]


async def test_readyz_is_503_with_redis_but_no_worker_heartbeat(stores: Stores) -> None:
    web = create_web_app(_bolt(), stores, stores.heartbeats, role="web")
    response = await _get(web, "/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["ok"] is False
    assert (body["redis"], body["workers"]) == ("up", 0)
    assert "no worker is running" in body["missing"]


async def test_readyz_is_200_while_a_worker_heartbeat_is_fresh(stores: Stores) -> None:
    heartbeats = stores.heartbeats
    web = create_web_app(_bolt(), stores, heartbeats, role="web")
    await heartbeats.beat("host-a-1", ttl_s=0.5)
    await heartbeats.beat("host-b-2", ttl_s=60)
    response = await _get(web, "/readyz")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "role": "web", "redis": "up", "workers": 2}
    # One heartbeat runs out, the other worker stops cleanly: not ready any more.
    await asyncio.sleep(0.7)
    assert (await _get(web, "/readyz")).json()["workers"] == 1
    await heartbeats.gone("host-b-2")
    response = await _get(web, "/readyz")
    assert response.status_code == 503
    assert response.json()["workers"] == 0


async def test_slack_events_must_be_signed(stores: Stores) -> None:
    web = create_web_app(_bolt(), stores, stores.heartbeats, role="web")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://t") as c:
        unsigned = await c.post("/slack/events", content=b'{"type": "event_callback"}')
    assert unsigned.status_code == 401


async def test_socket_mode_serves_only_the_probes(stores: Stores) -> None:
    web = create_web_app(_bolt(), stores, stores.heartbeats, role="web", slack_events=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://t") as c:
        assert (await c.get("/healthz")).status_code == 200
        assert (await c.get("/readyz")).status_code == 503
        assert (await c.post("/slack/events", content=b"{}")).status_code in (404, 405)
