"""The whole app as processes, started the way the README starts them (``python -m bot``,
or ``python -m bot web`` beside ``python -m bot worker``), against the fake Slack and the
fake Origami (real HTTP on loopback) and a real Redis."""

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


# The two ways the ``app`` fixtures deploy the app.
ONE_PROCESS = "one-process"  # python -m bot
WEB_AND_WORKER = "web+worker"  # python -m bot web, and python -m bot worker beside it


@dataclass
class AppProcess:
    """A running ``python -m bot`` (or its ``web`` or ``worker`` half) and the ways a test
    talks to it. ``workers``: the worker processes started beside a web process, stopped
    with it."""

    proc: subprocess.Popen[bytes]
    url: str
    log_path: Path
    slack: FakeSlack
    origami: FakeOrigami
    http: httpx.AsyncClient
    env: dict[str, str] = field(default_factory=dict)
    role: str | None = None  # None: python -m bot, both halves
    workers: list[AppProcess] = field(default_factory=list)

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


def spawn_bot(env: dict[str, str], role: str | None = None) -> tuple[subprocess.Popen[bytes], Path]:
    """``python -m bot [role]`` from the checkout, as the README's run commands do."""
    fd, path = tempfile.mkstemp(prefix=f"ogs-{role or 'app'}-", suffix=".log")
    with open(fd, "wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", *([role] if role else [])],
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
    role: str | None = None,
    **extra: str,
) -> AppProcess:
    """Start ``python -m bot`` (``role`` None), ``python -m bot web`` or ``python -m bot
    worker`` and wait until it is up: a process that serves Slack answers /healthz (in
    Socket Mode, once connected); a worker has said it started."""
    port = free_port()
    env = app_env(slack, origami, redis_url, port, **extra)
    proc, log_path = spawn_bot(env, role)
    app = AppProcess(proc, f"http://127.0.0.1:{port}", log_path, slack, origami, http, env, role)
    socket_mode = "SLACK_APP_TOKEN" in extra
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"the app exited with {proc.returncode}:\n{app.log()}")
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the app did not come up:\n{app.log()}")
        if role == "worker":
            if 'msg="worker started"' in app.log():
                return app
        elif socket_mode and "connected" not in app.log():
            pass
        else:
            try:
                if (await http.get(f"{app.url}/healthz")).status_code == 200:
                    return app
            except httpx.TransportError:
                pass
        await asyncio.sleep(0.05)


async def start_deployment(
    deployment: str,
    slack: FakeSlack,
    origami: FakeOrigami,
    redis_url: str | None,
    http: httpx.AsyncClient,
    **extra: str,
) -> AppProcess:
    """``ONE_PROCESS``: ``python -m bot``; ``WEB_AND_WORKER``: ``python -m bot worker``, then
    ``python -m bot web`` (returned, the worker in its ``workers``)."""
    if deployment == ONE_PROCESS:
        return await start_app(slack, origami, redis_url, http, **extra)
    worker = await start_app(slack, origami, redis_url, http, "worker", **extra)
    try:
        web = await start_app(slack, origami, redis_url, http, "web", **extra)
    except BaseException:
        await stop_app(worker)
        raise
    web.workers.append(worker)
    return web


async def stop_app(app: AppProcess, sig: int = signal.SIGTERM) -> str:
    """Send ``sig`` to the process and the workers started beside it and wait for them;
    their logs, one after the other."""
    logs = []
    for proc_app in (app, *app.workers):
        proc = proc_app.proc
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                await asyncio.to_thread(proc.wait, 15)
            except subprocess.TimeoutExpired:
                proc.kill()
                await asyncio.to_thread(proc.wait, 5)
        logs.append(proc_app.log())
    if not app.workers:
        return logs[0]
    names = ["web", *(f"worker {i}" for i in range(1, len(app.workers) + 1))]
    return "\n".join(f"--- {name} ---\n{log}" for name, log in zip(names, logs, strict=True))


async def wait_readyz(
    app: AppProcess,
    status: int,
    timeout: float = 5.0,  # noqa: ASYNC109 - a bounded poll, not a cancellable wait
) -> dict[str, Any]:
    """Poll the process's /readyz until it answers ``status``; its JSON body."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        response = await app.http.get(f"{app.url}/readyz")
        if response.status_code == status:
            return dict(response.json())
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(
                f"/readyz answered {response.status_code} {response.text}, not {status}, "
                f"for {timeout} s"
            )
        await asyncio.sleep(0.05)


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeSlack, FakeOrigami]]:
    async with FakeSlack() as slack, FakeOrigami(retry_after="0.3") as origami:
        yield slack, origami


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


def flush(redis_target: RedisTarget) -> None:
    """Start from an empty Redis (no heartbeats of earlier tests' workers, either)."""
    if redis_target.url:
        import redis as redis_sync

        client = redis_sync.Redis.from_url(redis_target.url)
        client.flushdb()
        client.close()


@pytest.fixture(params=[ONE_PROCESS, WEB_AND_WORKER])
def deployment(request: pytest.FixtureRequest, redis_target: RedisTarget) -> str:
    """Each test with an ``app`` runs against both ways to deploy it."""
    if request.param == WEB_AND_WORKER and redis_target.url is None:
        pytest.skip("the web and worker halves share a real Redis")
    return str(request.param)


@pytest.fixture
async def app(
    fakes: tuple[FakeSlack, FakeOrigami],
    redis_target: RedisTarget,
    http: httpx.AsyncClient,
    deployment: str,
) -> AsyncIterator[AppProcess]:
    slack, origami = fakes
    flush(redis_target)
    running = await start_deployment(deployment, slack, origami, redis_target.url, http)
    try:
        yield running
    finally:
        log = await stop_app(running)
        print(f"--- app log ---\n{log}")  # shown by pytest when the test failed
        # Whatever happened, Slack never saw a rejected call and nothing pinged anyone.
        assert slack.rejections == [], slack.rejections
        assert "Traceback" not in log, log
