"""The HTTP face of the app: ``POST /slack/events`` for Slack, ``GET /healthz`` for probes."""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.store import Store


def create_web_app(
    app: AsyncApp,
    store: Store,
    *,
    slack_events: bool = True,
    workers: Callable[[], tuple[bool, str]] | None = None,
) -> Starlette:
    """The ASGI app; ``slack_events=False`` in Socket Mode, where only probes come here.

    ``workers``: the health of the worker processes (``Workers.health``), when there are."""
    handler = AsyncSlackRequestHandler(app)

    async def handle_slack_events(request: Request) -> Response:
        return await handler.handle(request)

    async def healthz(request: Request) -> Response:
        # Redis holds every piece of state: without it the app can ack but not work.
        # Without its workers it can take messages but not send them.
        redis_up = await store.ping()
        body: dict[str, object] = {"redis": "up" if redis_up else "down"}
        ok = redis_up
        if workers is not None:
            workers_ok, body["workers"] = workers()
            ok = ok and workers_ok
        return JSONResponse({"ok": ok, **body}, status_code=200 if ok else 503)

    routes = [Route("/healthz", healthz, methods=["GET"])]
    if slack_events:
        routes.append(Route("/slack/events", handle_slack_events, methods=["POST"]))
    return Starlette(routes=routes)
