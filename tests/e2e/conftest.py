"""The whole app as a process, started the way the README starts it (``python -m bot``),
against the fake Slack and the fake Origami (real HTTP on loopback) and a real Redis."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import RedisTarget, free_port
from tests.fakes import payloads
from tests.fakes.origami import FakeOrigami
from tests.fakes.signing import signed_headers
from tests.fakes.slack import FakeSlack

ROOT = Path(__file__).resolve().parents[2]
SIGNING_SECRET = "e2e-signing-secret-0123456789abcdef"
APP_TOKEN = "xapp-1-A0001-1234-e2e"


@dataclass
class AppProcess:
    """A running ``python -m bot`` and the ways a test talks to it."""

    proc: subprocess.Popen[bytes]
    url: str
    log_path: Path
    slack: FakeSlack
    origami: FakeOrigami
    http: httpx.AsyncClient
    env: dict[str, str] = field(default_factory=dict)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    async def post_event(
        self, event: Mapping[str, Any], *, event_id: str | None = None, retry_num: int | None = None
    ) -> httpx.Response:
        envelope = payloads.events_api(dict(event), event_id=event_id)
        return await self.post_body(payloads.to_event_body(envelope), retry_num=retry_num)

    async def post_interactive(self, payload: Mapping[str, Any]) -> httpx.Response:
        return await self.post_body(payloads.to_interactive_body(payload))

    async def post_body(self, body: bytes, *, retry_num: int | None = None) -> httpx.Response:
        headers = signed_headers(SIGNING_SECRET, body, retry_num=retry_num)
        return await self.http.post(f"{self.url}/slack/events", content=body, headers=headers)


def app_env(
    slack: FakeSlack, origami: FakeOrigami, redis_url: str | None, port: int, **extra: str
) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "ORIGAMI_", "REDIS_", "HOST", "PORT"))
    }
    env.update(
        SLACK_BOT_TOKEN=slack.bot_token,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
        ORIGAMI_API_KEY=origami.api_key,
        ORIGAMI_API_URL=origami.url,
        ORIGAMI_FIRST_POLL_SECONDS="0.1",
        ORIGAMI_RETRY_SECONDS="1",
        HOST="127.0.0.1",
        PORT=str(port),
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(extra)
    return env


def spawn_bot(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], Path]:
    """``python -m bot`` from the checkout, as the README's run command does."""
    fd, path = tempfile.mkstemp(prefix="ogs-app-", suffix=".log")
    with open(fd, "wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot"],
            cwd=str(ROOT),
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    return proc, Path(path)


async def start_app(
    slack: FakeSlack,
    origami: FakeOrigami,
    redis_url: str | None,
    http: httpx.AsyncClient,
    **extra: str,
) -> AppProcess:
    port = free_port()
    env = app_env(slack, origami, redis_url, port, **extra)
    proc, log_path = spawn_bot(env)
    app = AppProcess(proc, f"http://127.0.0.1:{port}", log_path, slack, origami, http, env)
    socket_mode = "SLACK_APP_TOKEN" in extra
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"the app exited with {proc.returncode}:\n{app.log()}")
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the app did not come up:\n{app.log()}")
        if socket_mode and "connected" not in app.log():
            pass
        else:
            try:
                if (await http.get(f"{app.url}/healthz")).status_code == 200:
                    return app
            except httpx.TransportError:
                pass
        await asyncio.sleep(0.05)


async def stop_app(app: AppProcess, sig: int = signal.SIGTERM) -> str:
    if app.proc.poll() is None:
        app.proc.send_signal(sig)
        try:
            await asyncio.to_thread(app.proc.wait, 15)
        except subprocess.TimeoutExpired:
            app.proc.kill()
            await asyncio.to_thread(app.proc.wait, 5)
    return app.log()


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeSlack, FakeOrigami]]:
    async with FakeSlack() as slack, FakeOrigami(retry_after="0.3") as origami:
        yield slack, origami


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


@pytest.fixture
async def app(
    fakes: tuple[FakeSlack, FakeOrigami], redis_target: RedisTarget, http: httpx.AsyncClient
) -> AsyncIterator[AppProcess]:
    slack, origami = fakes
    if redis_target.url:
        import redis as redis_sync

        client = redis_sync.Redis.from_url(redis_target.url)
        client.flushdb()
        client.close()
    running = await start_app(slack, origami, redis_target.url, http)
    try:
        yield running
    finally:
        log = await stop_app(running)
        print(f"--- app log ---\n{log}")  # shown by pytest when the test failed
        # Whatever happened, Slack never saw a rejected call and nothing pinged anyone.
        assert slack.rejections == [], slack.rejections
        assert "Traceback" not in log, log
