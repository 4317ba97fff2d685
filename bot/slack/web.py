"""The HTTP face of the app: ``POST /slack/events`` for Slack, ``GET /healthz`` for probes."""

from __future__ import annotations

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.store import Store


def create_web_app(app: AsyncApp, store: Store) -> Starlette:
    handler = AsyncSlackRequestHandler(app)

    async def slack_events(request: Request) -> Response:
        return await handler.handle(request)

    async def healthz(request: Request) -> Response:
        # Redis holds every piece of state: without it the app can ack but not work.
        if await store.ping():
            return JSONResponse({"ok": True, "redis": "up"})
        return JSONResponse({"ok": False, "redis": "down"}, status_code=503)

    return Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )
