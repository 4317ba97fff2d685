"""``python -m bot``: settings → logging → build everything → serve (HTTP or Socket Mode).

``python -m bot`` serves Slack and starts ``WORKER_PROCESSES`` watcher processes
(``bot.workers``); ``python -m bot worker`` is one such process on its own, for running
more of them by hand (on this machine or another sharing the Redis).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass

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
from bot.watcher import Watcher, WatcherConfig
from bot.workers import Workers, adopt, watch_parent

log = logging.getLogger("bot")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="origami-slack: Origami agents in Slack threads."
    )
    parser.add_argument(
        "role",
        nargs="?",
        choices=["worker"],
        help="worker: only poll runs, post results and send handed-off prompts",
    )
    parser.add_argument("--parent", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsProblem as problem:
        print(problem, file=sys.stderr)
        sys.exit(2)
    logs.configure(settings.log_level, settings.secrets())
    if args.role == "worker" and settings.redis_url is None:
        print(
            "python -m bot worker needs REDIS_URL: it shares its work through Redis.",
            file=sys.stderr,
        )
        sys.exit(2)
    with contextlib.suppress(KeyboardInterrupt):
        if args.role == "worker":
            asyncio.run(serve_worker(settings, args.parent))
        else:
            asyncio.run(serve(settings))


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


async def serve(settings: Settings) -> None:
    """Serve Slack; watch runs here, or in ``WORKER_PROCESSES`` processes of their own.

    With workers, this process's event loop only takes Slack's requests: each message is
    kept in Redis and acked, and a worker acknowledges it in the thread and sends it."""
    workers = Workers(settings.worker_processes if settings.redis_url else 0)
    parts = build(settings, hand_off=workers.count > 0)
    signing_secret = (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    )
    app = create_app(
        client=parts.slack,
        signing_secret=signing_secret if settings.mode is Mode.HTTP else None,
        bridge=parts.bridge,
    )
    _freeze()
    watcher_tasks: list[asyncio.Task[None]] = []
    if workers.count:
        workers.start()
    else:
        watcher_tasks = [
            asyncio.create_task(parts.watcher.run_forever(), name="watcher"),
            # Prompts handed off by other processes (their Slack process, with workers).
            asyncio.create_task(parts.watcher.listen_for_handoffs(), name="handoffs"),
        ]
    try:
        health = workers.health if workers.count else None
        if settings.mode is Mode.SOCKET:
            await _serve_socket_mode(app, parts.store, settings, health)
        else:
            await _serve_http(app, parts.store, settings, health)
    finally:
        await workers.stop()
        await _stop_watcher(parts.watcher, watcher_tasks)
        await parts.aclose()
        log.info("stopped")


async def serve_worker(settings: Settings, parent: int | None) -> None:
    """Watch runs and send handed-off prompts until SIGTERM/SIGINT (or the parent dies)."""
    # Every line this process logs says which worker it came from.
    logs.bind(process=f"worker-{os.getpid()}")
    if parent is not None and not adopt(parent):
        log.warning("the process that started this worker is gone; not starting")
        return
    parts = build(settings, hand_off=False)
    _freeze()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tasks = [
        asyncio.create_task(parts.watcher.run_forever(), name="watcher"),
        asyncio.create_task(parts.watcher.listen_for_handoffs(), name="handoffs"),
    ]
    if parent is not None:
        tasks.append(asyncio.create_task(watch_parent(parent, stop), name="parent"))
    log.info("worker started")
    try:
        await stop.wait()
    finally:
        await _stop_watcher(parts.watcher, tasks)
        await parts.aclose()
        log.info("worker stopped")


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


Health = Callable[[], tuple[bool, str]]


async def _serve_http(
    app: AsyncApp, store: Store, settings: Settings, workers: Health | None
) -> None:
    from bot.slack.web import create_web_app

    log.info("listening", extra={"mode": "http", "host": settings.host, "port": settings.port})
    await serve_web(create_web_app(app, store, workers=workers), settings.host, settings.port)


async def _serve_socket_mode(
    app: AsyncApp, store: Store, settings: Settings, workers: Health | None
) -> None:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    from bot.slack.web import create_web_app

    assert settings.slack_app_token is not None
    handler = AsyncSocketModeHandler(app, settings.slack_app_token.get_secret_value())
    await handler.connect_async()  # type: ignore[no-untyped-call]
    log.info("connected", extra={"mode": "socket", "host": settings.host, "port": settings.port})
    try:
        # Slack comes over the websocket; the port only answers health probes, which
        # container platforms want whatever the mode.
        await serve_web(
            create_web_app(app, store, slack_events=False, workers=workers),
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
    # before the caller has stopped its watcher and workers and closed its connections:
    # the re-raised SIGTERM is ignored, and the caller's own shutdown ends the process.
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        await uvicorn.Server(config).serve()
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    main()
