"""The HTTP face of the app: ``POST /slack/events`` for Slack, ``GET /healthz`` and
``GET /readyz`` for the platform's probes."""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

log = logging.getLogger(__name__)

# A probe that hangs is as bad as one that fails, and platforms give up after a second or
# a few: each Redis call of /readyz gets this long.
PROBE_TIMEOUT_S = 2.0


class Pings(Protocol):
    async def ping(self) -> bool: ...


class CountsWorkers(Protocol):
    async def live_workers(self) -> int: ...


def create_web_app(
    app: AsyncApp,
    store: Pings,
    heartbeats: CountsWorkers,
    *,
    role: str,
    slack_events: bool = True,
) -> Starlette:
    """The ASGI app; ``slack_events=False`` in Socket Mode, where only probes come here.

    ``role`` is what this process runs (``all``: web and worker; ``web``), shown by both
    probes. ``/healthz`` says only that this process answers; ``/readyz`` that the app can
    work: Redis answers, and some worker (in this process or any other) beats."""
    handler = AsyncSlackRequestHandler(app)

    async def handle_slack_events(request: Request) -> Response:
        return await handler.handle(request)

    async def healthz(request: Request) -> Response:
        # Nothing but this process: a liveness probe that failed on Redis would get every
        # process restarted during a Redis outage, which a restart does not cure.
        return JSONResponse({"ok": True, "role": role})

    async def readyz(request: Request) -> Response:
        ready, body = await _readiness(store, heartbeats)
        return JSONResponse({"ok": ready, "role": role, **body}, status_code=200 if ready else 503)

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
    ]
    if slack_events:
        routes.append(Route("/slack/events", handle_slack_events, methods=["POST"]))
    return Starlette(routes=routes)


async def _readiness(store: Pings, heartbeats: CountsWorkers) -> tuple[bool, dict[str, object]]:
    """Whether the app can do its work, and, when not, which part is missing."""
    # Redis holds every piece of state: without it the app can ack but not work.
    try:
        redis_up = await asyncio.wait_for(store.ping(), PROBE_TIMEOUT_S)
    except TimeoutError:
        redis_up = False
    if not redis_up:
        return False, {
            "redis": "down",
            "workers": "unknown",
            "missing": "Redis does not answer (REDIS_URL)",
        }
    # Without a worker, messages are kept in Redis but none is sent and no result posted.
    try:
        live = await asyncio.wait_for(heartbeats.live_workers(), PROBE_TIMEOUT_S)
    except Exception as exc:
        log.warning("could not read the worker heartbeats", extra={"error": repr(exc)})
        return False, {
            "redis": "up",
            "workers": "unknown",
            "missing": "the worker heartbeats could not be read from Redis",
        }
    if live == 0:
        return False, {
            "redis": "up",
            "workers": 0,
            "missing": "no worker is running: no process running `python -m bot worker` "
            "(or `python -m bot`) has written a heartbeat lately",
        }
    return True, {"redis": "up", "workers": live}
