"""``python -m bot``: settings → logging → build everything → serve.

One command, three kinds of process (see the README's "Run and scale"):

- ``python -m bot``: the web and the worker half in one process; the one-command start,
  and the only one on the embedded store (``REDIS_URL`` unset).
- ``python -m bot web``: the web half only: serves Slack (HTTP or Socket Mode) and keeps
  each message in Redis for a worker, so nothing slow runs beside Slack's acks.
- ``python -m bot worker``: the worker half only: polls runs, posts results and sends the
  prompts web processes keep.

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
from dataclasses import dataclass
from enum import StrEnum

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette

from bot import logs
from bot.bridge import Bridge, BridgeConfig
from bot.config import Mode, Settings, SettingsProblem, load_settings
from bot.origami.client import OrigamiClient, build_http_client
from bot.ratelimit import SharedBudget
from bot.slack.app import build_web_client, create_app
from bot.slack.presenter import SlackPresenter
from bot.store import Store, connect
from bot.stores.heartbeats import TTL_BEATS, HeartbeatStore
from bot.watcher import Watcher, WatcherConfig

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
        choices=[Role.WEB.value, Role.WORKER.value],
        help="web: only serve Slack and keep each message for a worker; "
        "worker: only poll runs, post results and send the prompts web processes keep",
    )
    args = parser.parse_args(argv)
    role = Role(args.role) if args.role else Role.ALL
    try:
        settings = load_settings()
    except SettingsProblem as problem:
        print(problem, file=sys.stderr)
        sys.exit(2)
    logs.configure(settings.log_level, settings.secrets())
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


@dataclass
class Parts:
    """Everything a process builds from the settings, and how to close it."""

    store: Store
    origami: OrigamiClient
    slack: AsyncWebClient
    bridge: Bridge
    watcher: Watcher
    slack_session: aiohttp.ClientSession

    async def aclose(self) -> None:
        await self.origami.aclose()
        await self.slack_session.close()
        await self.store.close()


def build(settings: Settings, *, hand_off: bool) -> Parts:
    redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
    store = connect(redis_url)
    budget = SharedBudget(store, settings.origami_requests_per_minute)
    origami = OrigamiClient(
        build_http_client(settings.origami_api_url, settings.origami_api_key.get_secret_value()),
        gate=budget,
    )
    slack_session = aiohttp.ClientSession()
    slack = build_web_client(
        settings.slack_bot_token.get_secret_value(), settings.slack_api_url, slack_session
    )
    presenter = SlackPresenter(slack)
    bridge = Bridge(
        store,
        origami,
        presenter,
        BridgeConfig(
            first_poll_s=settings.origami_first_poll_seconds,
            transient_retry_s=settings.origami_retry_seconds,
            hand_off=hand_off,
        ),
        budget=budget.rule,
    )
    watcher = Watcher(
        store,
        origami,
        bridge,
        WatcherConfig(
            lease_s=settings.watcher_lease_seconds,
            progress_per_minute=settings.slack_progress_updates_per_minute,
        ),
        budget=budget.rule,
    )
    return Parts(store, origami, slack, bridge, watcher, slack_session)


def _freeze() -> None:
    # Everything built so far lives as long as the process: move it out of the garbage
    # collector's sight, so a full collection does not walk it (a pause of tens of ms,
    # landing on whichever request is being acked).
    gc.collect()
    gc.freeze()


async def serve(settings: Settings, role: Role = Role.ALL) -> int:
    """Run this process's halves until SIGTERM/SIGINT; the exit code.

    The web half alone (``Role.WEB``) keeps each message in Redis and acks it; a worker,
    here or anywhere, acknowledges it in the thread and sends it. With both halves in one
    process the bridge sends itself."""
    if role is not Role.ALL:
        # Every line says which process it came from (the platform may merge their logs).
        logs.bind(process=f"{role}-{os.getpid()}")
    parts = build(settings, hand_off=role is Role.WEB)
    heartbeats = HeartbeatStore(parts.store.redis)
    app = _slack_app(settings, parts) if role.serves_slack else None
    _freeze()
    worker = (
        WorkerHalf(parts.watcher, heartbeats, settings.worker_heartbeat_seconds)
        if role.runs_worker
        else None
    )
    code = 0
    try:
        if worker is not None:
            worker.start()
        if app is None:
            assert worker is not None
            code = await _until_signalled(worker)
        elif settings.mode is Mode.SOCKET:
            await _serve_socket_mode(app, parts.store, heartbeats, settings, role)
        else:
            await _serve_http(app, parts.store, heartbeats, settings, role)
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
        bridge=parts.bridge,
    )


class WorkerHalf:
    """The worker half of a process: the watcher (runs in flight, results, kept prompts),
    the listener for prompts handed off by web processes, and the heartbeat that tells any
    process's ``/readyz`` that a worker is alive. It beats only while the watcher and the
    listener run, so a heartbeat means a working worker, not just a live process."""

    def __init__(self, watcher: Watcher, heartbeats: HeartbeatStore, every_s: float) -> None:
        self.watcher = watcher
        self.heartbeats = heartbeats
        self.every_s = every_s
        self.ttl_s = every_s * TTL_BEATS
        self.worker_id = f"{socket.gethostname()}-{os.getpid()}"
        self._tasks: list[asyncio.Task[None]] = []
        self._heartbeat: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self.watcher.run_forever(), name="watcher"),
            asyncio.create_task(self.watcher.listen_for_handoffs(), name="handoffs"),
        ]
        self._heartbeat = asyncio.create_task(self._beat_forever(), name="heartbeat")
        log.info("worker started", extra={"worker": self.worker_id})

    async def ended(self) -> None:
        """Returns once the watcher or the listener has ended (by itself: a bug)."""
        await asyncio.wait(self._tasks, return_when=asyncio.FIRST_COMPLETED)

    async def _beat_forever(self) -> None:
        failing = False
        while not any(task.done() for task in self._tasks):
            try:
                await self.heartbeats.beat(self.worker_id, self.ttl_s)
            except Exception as exc:
                # Redis down: the watcher waits it out too; beat again when it is back.
                if not failing:
                    log.warning(
                        "could not write the worker heartbeat; trying again",
                        extra={"worker": self.worker_id, "error": repr(exc)},
                    )
                failing = True
            else:
                if failing:
                    log.info("worker heartbeat written again", extra={"worker": self.worker_id})
                failing = False
            await asyncio.sleep(self.every_s)
        log.error(
            "the watcher ended by itself; this worker no longer beats",
            extra={"worker": self.worker_id},
        )

    async def stop(self) -> None:
        """Stop beating, stop the watcher (its polls under way finish, bounded), then take
        the heartbeat out at once rather than leave it to run out."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            await asyncio.gather(self._heartbeat, return_exceptions=True)
        await _stop_watcher(self.watcher, self._tasks)
        try:
            await asyncio.wait_for(self.heartbeats.gone(self.worker_id), 2)
        except Exception as exc:
            log.warning(
                "could not take the worker heartbeat out; it runs out by itself",
                extra={"worker": self.worker_id, "error": repr(exc)},
            )


async def _until_signalled(worker: WorkerHalf) -> int:
    """A worker process's life: until SIGTERM/SIGINT (exit 0), or until its watcher ends
    by itself (exit 1, so that the platform starts a new one)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    signalled = asyncio.create_task(stop.wait())
    ended = asyncio.create_task(worker.ended())
    await asyncio.wait([signalled, ended], return_when=asyncio.FIRST_COMPLETED)
    for task in (signalled, ended):
        task.cancel()
    if stop.is_set():
        return 0
    log.error("the watcher ended by itself; stopping this worker so that it is restarted")
    return 1


async def _stop_watcher(watcher: Watcher, tasks: list[asyncio.Task[None]]) -> None:
    """Stop the watcher (its polls under way finish, bounded) and the tasks beside it."""
    if not tasks:
        return
    watcher.stop()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(tasks[0], timeout=10)
    for task in tasks[1:]:
        task.cancel()
    await asyncio.gather(*tasks[1:], return_exceptions=True)


def _web_app(
    app: AsyncApp, store: Store, heartbeats: HeartbeatStore, role: Role, *, slack_events: bool
) -> Starlette:
    from bot.slack.web import create_web_app

    return create_web_app(app, store, heartbeats, role=role.value, slack_events=slack_events)


async def _serve_http(
    app: AsyncApp, store: Store, heartbeats: HeartbeatStore, settings: Settings, role: Role
) -> None:
    web = _web_app(app, store, heartbeats, role, slack_events=True)
    log.info(
        "listening",
        extra={"mode": "http", "role": role.value, "host": settings.host, "port": settings.port},
    )
    await serve_web(web, settings.host, settings.port)


async def _serve_socket_mode(
    app: AsyncApp, store: Store, heartbeats: HeartbeatStore, settings: Settings, role: Role
) -> None:
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
            _web_app(app, store, heartbeats, role, slack_events=False),
            settings.host,
            settings.port,
        )
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]


async def serve_web(web: Starlette, host: str, port: int) -> None:
    """Serve ``web`` with uvicorn until SIGINT/SIGTERM (also how the bench's bare Bolt app
    is served, so the two are compared like for like)."""
    import uvicorn

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
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        await uvicorn.Server(config).serve()
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    main()
