"""Redis goes away mid-conversation and comes back: the app keeps acking, says what it
could not do, reports not ready (but alive), and finishes the conversation when Redis is
back."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis as redis_sync

from tests.conftest import free_port
from tests.e2e.conftest import start_app, stop_app, wait_readyz
from tests.e2e.test_conversations import (
    bot_replies,
    finals,
    mention,
    texts_of,
    thread_text,
    wait_finished,
)
from tests.fakes import payloads
from tests.fakes.origami import FakeOrigami, RunScript
from tests.fakes.slack import FakeSlack


class RedisServer:
    """A private redis-server with an append-only file, so a restart keeps the state
    (as a production Redis for this app should be configured)."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("needs redis-server installed")
        self.binary = binary
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="ogs-redis-outage-"))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.dir),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis_sync.Redis.from_url(self.url, socket_timeout=0.5).ping():
                    return
            except redis_sync.RedisError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.dir, ignore_errors=True)


async def test_redis_restart_mid_conversation(
    fakes: tuple[FakeSlack, FakeOrigami], private_redis: RedisServer, http: httpx.AsyncClient
) -> None:
    slack, origami = fakes
    origami.script(RunScript(polls=None, text="Finished despite the outage"))
    app = await start_app(slack, origami, private_redis.url, http, WORKER_HEARTBEAT_SECONDS="0.5")
    try:
        thread_ts = await mention(app, "find founders")
        await slack.wait_for(lambda s: len(origami.requests("GET")) >= 1, timeout=10)

        private_redis.stop()
        await slack.wait_for(lambda s: True, timeout=0.1)
        ready = await http.get(f"{app.url}/readyz")
        assert ready.status_code == 503 and ready.json()["redis"] == "down"
        # Alive all the same: restarting the process would not bring Redis back.
        assert (await http.get(f"{app.url}/healthz")).status_code == 200
        # A new request during the outage is acked, and the person is told, once, though
        # the message arrives twice (app_mention, then its message event).
        other = await mention(app, "find more founders")
        twin = payloads.message_event(f"<@{payloads.BOT_USER_ID}> find more founders", ts=other)
        assert (await app.post_event(twin)).status_code == 200
        await slack.wait_for(lambda s: "reach my database" in thread_text(app, other), timeout=15)
        await asyncio.sleep(1.0)  # room for a second reply, were there one
        told = [m for m in bot_replies(app, other) if "reach my database" in texts_of(m)]
        assert len(told) == 1

        private_redis.start()
        (run_id,) = origami.runs
        origami.finish(run_id)
        await wait_finished(app, thread_ts)
        assert "Finished despite the outage" in thread_text(app, thread_ts)
        assert len(finals(app, thread_ts)) == 1
        assert (await wait_readyz(app, 200))["workers"] == 1
        # Nothing reached Origami for the message that came in during the outage.
        assert len(origami.requests("POST", "/agents")) == 1
    finally:
        log = await stop_app(app)
        print(log)
    assert slack.rejections == []
