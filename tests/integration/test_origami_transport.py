"""The Origami client's aiohttp transport, against a real HTTP server on loopback: bodies,
headers and encodings come through as httpx would give them, and every failure is the
httpx exception the client handles."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from bot.origami.transport import AiohttpTransport
from tests.conftest import free_port

seen: list[web.Request] = []


async def _echo(request: web.Request) -> web.StreamResponse:
    seen.append(request)
    body = await request.read()
    payload = json.dumps({"method": request.method, "body": body.decode()}).encode()
    if request.query.get("gzip"):
        return web.Response(
            body=gzip.compress(payload),
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )
    return web.Response(body=payload, content_type="application/json", status=201)


async def _slow(request: web.Request) -> web.StreamResponse:
    await asyncio.sleep(1.0)
    return web.Response(text="late")


async def _hang_up(request: web.Request) -> web.StreamResponse:
    seen.append(request)
    assert request.transport is not None
    request.transport.close()
    await asyncio.sleep(0.1)
    return web.Response(text="never sent")


@pytest.fixture
async def server() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_route("*", "/echo", _echo)
    app.router.add_get("/slow", _slow)
    app.router.add_get("/hang-up", _hang_up)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    seen.clear()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def _client(base: str, timeout: float = 5.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base,
        timeout=httpx.Timeout(timeout, connect=1.0),
        transport=AiohttpTransport(max_connections=4, keepalive_s=30),
    )


async def test_a_post_arrives_with_its_body_and_one_of_each_header(server: str) -> None:
    async with _client(server) as client:
        response = await client.post("/echo", json={"prompt": "find founders"})
    assert response.status_code == 201
    assert response.json() == {"method": "POST", "body": '{"prompt":"find founders"}'}
    (request,) = seen
    assert request.headers.getall("Host") == [server.removeprefix("http://")]
    assert request.headers.getall("Content-Length") == ["26"]
    assert request.headers["Accept-Encoding"] == "gzip, deflate"


async def test_a_gzipped_answer_is_decoded_once(server: str) -> None:
    async with _client(server) as client:
        response = await client.get("/echo", params={"gzip": "1"})
    assert response.json() == {"method": "GET", "body": ""}
    assert "content-encoding" not in response.headers


async def test_failures_are_the_httpx_exceptions_the_client_handles(server: str) -> None:
    async with _client(server, timeout=0.2) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get("/slow")
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get("/hang-up")
    async with _client(f"http://127.0.0.1:{free_port()}") as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("/echo")


async def test_a_get_cut_off_by_the_server_is_sent_once(server: str) -> None:
    # aiohttp would send it again on its own; only the client's retry policy may, since
    # each request it sends takes a slot of Origami's shared request budget.
    async with _client(server) as client:
        with pytest.raises(httpx.RemoteProtocolError) as caught:
            await client.get("/hang-up")
    assert [r.path for r in seen] == ["/hang-up"]
    assert type(caught.value.__cause__).__name__ == "ServerDisconnectedError"
