"""``python -m bot``: settings → logging → build everything → serve.

One command, three kinds of process (see the README's "Run and scale"):

- ``python -m bot``: the web and the worker half in one process; the one-command start,
  and the only one on the embedded store (``REDIS_URL`` unset).
- ``python -m bot web``: the web half only: serves Slack (HTTP or Socket Mode) and keeps
  each message in Redis for a worker, so nothing slow runs beside Slack's acks.
- ``python -m bot worker``: the worker half only: polls runs, posts results and sends the
  prompts web processes keep; serves ``/healthz`` and ``/metrics`` on ``PORT``.

The platform (Heroku, a container scheduler, systemd) starts, restarts and scales them;
any number of each share one Redis. Every process that runs the worker half writes a
heartbeat there, which ``/readyz`` reads, wherever it runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
import sys
from collections.abc import Iterator
from enum import StrEnum

import uvicorn
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette

from bot import logs
from bot.assembly import Parts, build
from bot.config import Mode, Settings, SettingsProblem, load_settings
from bot.metrics import Metrics
from bot.slack.app import create_app
from bot.worker import WorkerHalf, on_signals, until_signalled, worker_web_app

log = logging.getLogger("bot")


class Role(StrEnum):
    """What one process runs; the command-line argument (none: ``ALL``)."""

    ALL = "all"
    WEB = "web"
    WORKER = "worker"

    @property
    def serves_slack(self) -> bool:
        return self is not Role.WORKER

    @property
    def runs_worker(self) -> bool:
        return self is not Role.WEB


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="origami-slack: Origami agents in Slack threads. Without a role, "
        "runs the web and the worker half in one process.",
    )
    parser.add_argument(
        "role",
        nargs="?",
        choices=[Role.WEB.value, Role.WORKER.value, "doctor"],
        help="web: only serve Slack and keep each message for a worker; "
        "worker: only poll runs, post results and send the prompts web processes keep; "
        "doctor: check Slack, Origami, Redis and the workers with these settings, then exit "
        "(1 if a check fails)",
    )
    parser.add_argument("--json", action="store_true", help="doctor: print one JSON document")
    args = parser.parse_args(argv)
    if args.json and args.role != "doctor":
        parser.error("--json goes with doctor")
    try:
        settings = load_settings()
    except SettingsProblem as problem:
        print(problem, file=sys.stderr)
        sys.exit(2)
    logs.configure(settings.log_level, settings.secrets())
    if args.role == "doctor":
        from bot.doctor import run_doctor

        sys.exit(run_doctor(settings, as_json=args.json))
    role = Role(args.role) if args.role else Role.ALL
    if role is not Role.ALL and settings.redis_url is None:
        print(
            f"python -m bot {role} needs REDIS_URL: the web and worker halves share their "
            "work through Redis (`python -m bot` runs both in one process without it).",
            file=sys.stderr,
        )
        sys.exit(2)
    code = 0
    with contextlib.suppress(KeyboardInterrupt):
        code = asyncio.run(serve(settings, role))
    if code:
        sys.exit(code)


def _freeze() -> None:
    # Everything built so far lives as long as the process: move it out of the garbage
    # collector's sight, so a full collection does not walk it (a pause of tens of ms,
    # landing on whichever request is being acked).
    gc.collect()
    gc.freeze()


async def serve(settings: Settings, role: Role = Role.ALL) -> int:
    """Run this process's halves until SIGTERM/SIGINT; the exit code.

    The web half keeps each message in Redis and acks it; a worker, in this process or any
    other, acknowledges it in the thread and sends it: one path, whatever the roles."""
    # In the format the settings ask for (LOG_FORMAT: key=value pairs, or JSON lines).
    logs.configure(settings.log_level, settings.secrets(), settings.log_format)
    if role is not Role.ALL:
        # Every line says which process it came from (the platform may merge their logs).
        logs.bind(process=f"{role}-{os.getpid()}")
    parts = build(settings)
    # Many workspaces: the installations' tables, created where missing.
    await parts.tenants.start()
    app = _slack_app(settings, parts) if role.serves_slack else None
    _freeze()
    worker = (
        WorkerHalf(
            parts.watcher,
            parts.stores.heartbeats,
            settings.worker_heartbeat_seconds,
            metrics=parts.metrics,
            follower=parts.core.follower,
            schedules=parts.core.schedule_poller,
        )
        if role.runs_worker
        else None
    )
    code = 0
    try:
        if worker is not None:
            worker.start()
        if app is None:
            assert worker is not None
            code = await _serve_worker(worker, parts.metrics, settings)
        elif settings.mode is Mode.SOCKET:
            await _serve_socket_mode(app, parts, settings, role)
        else:
            await _serve_http(app, parts, settings, role)
    finally:
        if worker is not None:
            await worker.stop()
        await parts.aclose()
        log.info("stopped", extra={"role": role.value})
    return code


def _slack_app(settings: Settings, parts: Parts) -> AsyncApp:
    signing_secret = (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    )
    return create_app(
        client=parts.slack,
        signing_secret=signing_secret if settings.mode is Mode.HTTP else None,
        conversations=parts.conversations,
        tenants=parts.tenants,
    )


def _web_app(app: AsyncApp, parts: Parts, role: Role, *, slack_events: bool) -> Starlette:
    from bot.slack.web import create_web_app

    return create_web_app(
        app,
        parts.stores,
        parts.stores.heartbeats,
        role=role.value,
        slack_events=slack_events,
        metrics=parts.metrics,
    )


async def _serve_http(app: AsyncApp, parts: Parts, settings: Settings, role: Role) -> None:
    web = _web_app(app, parts, role, slack_events=True)
    log.info(
        "listening",
        extra={"mode": "http", "role": role.value, "host": settings.host, "port": settings.port},
    )
    await serve_web(web, settings.host, settings.port)


async def _serve_socket_mode(app: AsyncApp, parts: Parts, settings: Settings, role: Role) -> None:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    assert settings.slack_app_token is not None
    handler = AsyncSocketModeHandler(app, settings.slack_app_token.get_secret_value())
    await handler.connect_async()  # type: ignore[no-untyped-call]
    log.info(
        "connected",
        extra={"mode": "socket", "role": role.value, "host": settings.host, "port": settings.port},
    )
    try:
        # Slack comes over the websocket; the port only answers the probes, which
        # container platforms want whatever the mode.
        await serve_web(
            _web_app(app, parts, role, slack_events=False),
            settings.host,
            settings.port,
        )
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]


async def _serve_worker(worker: WorkerHalf, metrics: Metrics, settings: Settings) -> int:
    """A worker process's life, serving ``/healthz`` and ``/metrics`` on ``PORT``: until
    SIGTERM/SIGINT (exit 0), or until its watcher ends by itself (exit 1, so that the
    platform starts a new one). Where ``PORT`` is taken (another process of the app on
    this host, with the same settings), it works on without them: its work matters more
    than its figures."""
    # First of all: a SIGTERM from now on is a graceful stop (the worker has said it
    # started), whatever the server below is doing.
    signalled = on_signals()
    try:
        sock = _listen(settings.host, settings.port)
    except OSError as exc:
        log.warning(
            "cannot listen on PORT: this worker serves no /healthz or /metrics; give each "
            "process on a host a PORT of its own",
            extra={"host": settings.host, "port": settings.port, "error": str(exc)},
        )
        return await until_signalled(worker, signalled)
    log.info(
        "listening",
        extra={"role": Role.WORKER.value, "host": settings.host, "port": settings.port},
    )
    done = asyncio.Event()
    web = worker_web_app(metrics)
    serving = asyncio.ensure_future(
        serve_web(web, settings.host, settings.port, sock=sock, stop=done)
    )
    try:
        return await until_signalled(worker, signalled)
    finally:
        done.set()
        await serving
        sock.close()


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (raises ``OSError`` when it is taken)."""
    (family, *_), *_ = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )
    return socket.create_server((host, port), family=family)


async def serve_web(
    web: Starlette,
    host: str,
    port: int,
    *,
    sock: socket.socket | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve ``web`` with uvicorn until SIGINT/SIGTERM (also how the bench's bare Bolt app
    is served, so the two are compared like for like). ``sock``: a socket already
    listening on ``host:port``, to serve on. ``stop``: the caller handles the signals
    itself, and sets ``stop`` when serving should end (gracefully, as on a signal)."""
    config = uvicorn.Config(
        web,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=10,
    )
    # uvicorn turns SIGINT/SIGTERM into a graceful stop of serve(), then raises the signal
    # again so that its default action follows. For SIGTERM that is to die on the spot,
    # before the caller has stopped its worker half and closed its connections:
    # the re-raised SIGTERM is ignored, and the caller's own shutdown ends the process.
    sockets = None if sock is None else [sock]
    if stop is not None:
        await _serve_until(_CallerStops(config), sockets, stop)
        return
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        await uvicorn.Server(config).serve(sockets)
    finally:
        signal.signal(signal.SIGTERM, previous)


async def _serve_until(
    server: uvicorn.Server, sockets: list[socket.socket] | None, stop: asyncio.Event
) -> None:
    serving = asyncio.ensure_future(server.serve(sockets))
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait([serving, stopped], return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    server.should_exit = True  # its graceful stop, as on a signal
    await serving


class _CallerStops(uvicorn.Server):
    """A uvicorn server that leaves SIGINT/SIGTERM to its caller (which stops it)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


if __name__ == "__main__":
    main()
