"""``python -m bot``: settings → logging → build everything → serve (HTTP or Socket Mode)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys

import aiohttp
from slack_bolt.async_app import AsyncApp
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

log = logging.getLogger("bot")


def main() -> None:
    try:
        settings = load_settings()
    except SettingsProblem as problem:
        print(problem, file=sys.stderr)
        sys.exit(2)
    logs.configure(settings.log_level, settings.secrets())
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(settings))


async def serve(settings: Settings) -> None:
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
    signing_secret = (
        settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    )
    app = create_app(
        client=slack,
        signing_secret=signing_secret if settings.mode is Mode.HTTP else None,
        bridge=bridge,
    )
    # Everything built so far lives as long as the process: move it out of the garbage
    # collector's sight, so a full collection does not walk it (a pause of tens of ms,
    # landing on whichever request is being acked).
    gc.collect()
    gc.freeze()
    watcher_task = asyncio.create_task(watcher.run_forever(), name="watcher")
    try:
        if settings.mode is Mode.SOCKET:
            await _serve_socket_mode(app, store, settings)
        else:
            await _serve_http(app, store, settings)
    finally:
        watcher.stop()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(watcher_task, timeout=10)
        await origami.aclose()
        await slack_session.close()
        await store.close()
        log.info("stopped")


async def _serve_http(app: AsyncApp, store: Store, settings: Settings) -> None:
    from bot.slack.web import create_web_app

    log.info("listening", extra={"mode": "http", "host": settings.host, "port": settings.port})
    await serve_web(create_web_app(app, store), settings.host, settings.port)


async def _serve_socket_mode(app: AsyncApp, store: Store, settings: Settings) -> None:
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
            create_web_app(app, store, slack_events=False), settings.host, settings.port
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
    # uvicorn turns SIGINT/SIGTERM into a graceful stop of serve().
    await uvicorn.Server(config).serve()


if __name__ == "__main__":
    main()
