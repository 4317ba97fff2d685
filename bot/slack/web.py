"""The HTTP face of the app: ``POST /slack/events`` for Slack, ``GET /healthz`` and
``GET /readyz`` for the platform's probes.

``POST /slack/events`` is open to the internet, so it is checked here, in this order,
before Bolt sees anything (Bolt reads and parses the whole body first, with no limit):

1. the size: a ``Content-Length`` over ``MAX_BODY_BYTES`` is refused before any of the
   body is read, a streamed body as soon as it passes it: 413;
2. the signature (``X-Slack-Signature`` over ``v0:{timestamp}:{body}`` with the signing
   secret, ``X-Slack-Request-Timestamp`` within five minutes): 401 unless Slack signed it;
3. the body: a signed body that is not a JSON object (JSON, or form fields, or a form
   whose ``payload`` is JSON) is 400.

Only then does Bolt get the request, with its own verification turned off
(``bot.slack.app.create_app``): it would only check the signature again, and it logs the
whole body of a request that fails the check. Nothing here logs a request body, and
nothing unsigned or malformed gets a 5xx.

``GET /slack/install`` and ``GET /slack/oauth_redirect`` (many workspaces) are Bolt's
OAuth flow: a browser comes there, not Slack, so nothing is signed.

``GET /metrics`` (when given the process's ``Metrics``) serves what this process counted,
for Prometheus: among it, each request to ``POST /slack/events`` by what came of it, and
how long its answer took.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Protocol

from slack_bolt.adapter.starlette.async_handler import to_starlette_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.metrics import Metrics, event_type, metrics_route

log = logging.getLogger(__name__)

# A probe that hangs is as bad as one that fails, and platforms give up after a second or
# a few: each Redis call of /readyz gets this long.
PROBE_TIMEOUT_S = 2.0

# The largest request body /slack/events reads. Slack's own are far smaller: an event is
# a few KB; the largest interaction payloads (a view_submission with the state of every
# input of a 100-block modal, a block_actions that carries the clicked message's 50
# blocks) stay under a few hundred KB. An unsigned request costs at most this much
# memory while it is read, and is dropped once its signature fails.
MAX_BODY_BYTES = 1024 * 1024

TIMESTAMP_HEADER = "x-slack-request-timestamp"
SIGNATURE_HEADER = "x-slack-signature"
# Unix seconds have ten digits until the year 2286. A longer "timestamp" is not one (and
# int() of thousands of digits is slow, then refused).
_MAX_TIMESTAMP_DIGITS = 12


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
    signing_secret: str | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    metrics: Metrics | None = None,
) -> Starlette:
    """The ASGI app; ``slack_events=False`` in Socket Mode, where only probes come here.

    ``role`` is what this process runs (``all``: web and worker; ``web``), shown by both
    probes. ``/healthz`` says only that this process answers; ``/readyz`` that the app can
    work: Redis answers, and some worker (in this process or any other) beats.

    ``signing_secret``: what ``POST /slack/events`` checks signatures with, by default
    the one ``app`` was built with; serving Slack without one is refused (every request
    would pass for signed). ``max_body_bytes``: its size cap. ``metrics``: what this
    process counts, served on ``GET /metrics`` (None: no such route)."""

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
    if metrics is not None:
        routes.append(metrics_route(metrics))
    if app.oauth_flow is not None:
        routes += _install_routes(app)
    if slack_events:
        secret = _signing_secret_of(app) if signing_secret is None else signing_secret
        if not secret.strip():
            raise ValueError(
                "serving Slack over HTTP needs a signing secret (SLACK_SIGNING_SECRET)"
            )
        events = SlackEvents(app, SignatureVerifier(secret), max_body_bytes, metrics)
        routes.append(Route("/slack/events", events.handle, methods=["POST"]))
    return Starlette(routes=routes)


def _install_routes(app: AsyncApp) -> list[Route]:
    """``GET /slack/install`` ("Add to Slack") and ``GET /slack/oauth_redirect`` (where
    Slack sends the person back): Bolt's OAuth flow, with its state in the database. Not
    signed by Slack (a browser comes here): the OAuth state is what is checked."""
    from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler

    handler = AsyncSlackRequestHandler(app)
    flow = app.oauth_flow
    assert flow is not None

    async def oauth(request: Request) -> Response:
        return await handler.handle(request)

    return [
        Route(flow.install_path, oauth, methods=["GET"]),
        Route(flow.redirect_uri_path, oauth, methods=["GET"]),
    ]


def _signing_secret_of(app: AsyncApp) -> str:
    # Bolt keeps the secret it was given (or read from SLACK_SIGNING_SECRET) and has no
    # accessor for it. Should a new version move it, this is "" and serving Slack is
    # refused at start, rather than every request passing unchecked.
    secret = getattr(app, "_signing_secret", "")
    return secret if isinstance(secret, str) else ""


class _TooLarge(Exception):
    pass


def _refuse(status: int, error: str) -> Response:
    return JSONResponse({"ok": False, "error": error}, status_code=status)


class SlackEvents:
    """``POST /slack/events``: size, signature and shape checked, then Bolt."""

    def __init__(
        self,
        app: AsyncApp,
        verifier: SignatureVerifier,
        max_body_bytes: int,
        metrics: Metrics | None = None,
    ):
        self._app = app
        self._verifier = verifier
        self._max = max_body_bytes
        self._metrics = metrics if metrics is not None else Metrics()

    async def handle(self, request: Request) -> Response:
        arrived = time.perf_counter()
        length = request.headers.get("content-length")
        if length is not None:
            if not (length.isascii() and length.isdigit()):
                return self._refuse(400, "bad Content-Length")
            # (A length of thousands of digits is too large, and more than int() takes.)
            if len(length) > len(str(self._max)) or int(length) > self._max:
                return self._refuse(413, "request body too large")
        timestamp = request.headers.get(TIMESTAMP_HEADER)
        signature = request.headers.get(SIGNATURE_HEADER)
        if timestamp is None or signature is None or not _plausible(timestamp, signature):
            return self._refuse(401, "invalid request")
        try:
            raw = await self._read(request)
        except _TooLarge:
            return self._refuse(413, "request body too large")
        except ClientDisconnect:
            return self._refuse(400, "the client went away")  # nobody reads this
        try:
            # What Slack signs is UTF-8 text (JSON, or form fields), and the verifier only
            # takes text: a body that is not UTF-8 cannot carry a signature of Slack's.
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return self._refuse(401, "invalid request")
        if not self._verifier.is_valid(body, timestamp, signature):
            return self._refuse(401, "invalid request")
        bolt_request = _to_bolt_request(request, body)
        if bolt_request is None:
            return self._refuse(400, "malformed request body")
        kind = event_type(bolt_request.body)
        self._metrics.events_received.labels(kind).inc()
        try:
            bolt_response = await self._app.async_dispatch(bolt_request)
        except Exception as exc:
            # Bolt catches what its middleware and listeners raise; what escapes it is Bolt
            # itself failing on a body it cannot take (e.g. a block_actions without
            # actions, when it builds the arguments of the error handler).
            log.error(
                "Bolt could not handle a signed request",
                extra={"kind": _kind(bolt_request.body), "error": type(exc).__name__},
            )
            self._metrics.ack_seconds.observe(time.perf_counter() - arrived)
            return _refuse(400, "malformed request body")
        response = to_starlette_response(bolt_response)
        if 200 <= response.status_code < 300:
            self._metrics.events_acked.labels(kind).inc()
        self._metrics.ack_seconds.observe(time.perf_counter() - arrived)
        return response

    def _refuse(self, status: int, error: str) -> Response:
        self._metrics.requests_refused.labels(str(status)).inc()
        return _refuse(status, error)

    async def _read(self, request: Request) -> bytes:
        """The body, up to the cap: raises ``_TooLarge`` as soon as it passes it."""
        chunks: list[bytes] = []
        size = 0
        async with contextlib.aclosing(request.stream()) as stream:
            async for chunk in stream:
                size += len(chunk)
                if size > self._max:
                    raise _TooLarge
                chunks.append(chunk)
        return b"".join(chunks)


def _plausible(timestamp: str, signature: str) -> bool:
    """Whether the two headers can be checked at all: a timestamp of ASCII digits, and a
    signature of ASCII text (the verifier's ``int()`` and ``compare_digest`` raise on
    anything else)."""
    return (
        0 < len(timestamp) <= _MAX_TIMESTAMP_DIGITS
        and timestamp.isascii()
        and timestamp.isdigit()
        and len(signature) > 0
        and signature.isascii()
    )


def _to_bolt_request(request: Request, body: str) -> AsyncBoltRequest | None:
    """Bolt's request for a signed body; ``None`` when it is not a JSON object or form
    fields Bolt can read (Bolt parses it, and builds its context from it, as it is made)."""
    if not body.strip():
        return None
    try:
        bolt_request = AsyncBoltRequest(
            body=body,
            query=request.query_params,  # type: ignore[arg-type]
            headers=request.headers,  # type: ignore[arg-type]
        )
    except Exception:
        return None
    return bolt_request if isinstance(bolt_request.body, dict) else None


def _kind(body: object) -> str:
    """The payload's type, short, for a log line (never the body itself)."""
    kind = body.get("type") if isinstance(body, dict) else None
    return kind[:64] if isinstance(kind, str) else "?"


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
