"""Shared fixtures: a real Redis for every test that needs one.

Where Redis comes from, in order:
1. ``TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/9``) if it answers;
2. else a private ``redis-server`` started on a free port, if one is installed;
3. else the embedded in-process store, with a printed notice; tests that need a Redis
   shared between processes skip.
With ``REQUIRE_REAL_REDIS=1`` (set by ``.ci/run``) steps 2-3 are errors: the suite fails
rather than quietly testing less.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis as redis_sync

from bot.stores import Stores

DEFAULT_URL = "redis://127.0.0.1:6379/9"


@dataclass(frozen=True)
class RedisTarget:
    url: str | None  # None: embedded only
    how: str

    @property
    def is_real(self) -> bool:
        return self.url is not None


def _answers(url: str) -> bool:
    try:
        client = redis_sync.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis_sync.RedisError, OSError):
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def redis_target() -> Iterator[RedisTarget]:
    url = os.environ.get("TEST_REDIS_URL", DEFAULT_URL)
    required = os.environ.get("REQUIRE_REAL_REDIS") == "1"
    if _answers(url):
        yield RedisTarget(url, f"Redis at {url}")
        return
    if required:
        pytest.fail(f"REQUIRE_REAL_REDIS=1 but no Redis answers at {url}", pytrace=False)
    binary = shutil.which("redis-server")
    if binary:
        port = free_port()
        workdir = tempfile.mkdtemp(prefix="ogs-redis-")
        proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                workdir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        local = f"redis://127.0.0.1:{port}/0"
        deadline = time.monotonic() + 10
        while not _answers(local) and time.monotonic() < deadline:
            time.sleep(0.05)
        try:
            yield RedisTarget(local, f"a private redis-server on port {port}")
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            shutil.rmtree(workdir, ignore_errors=True)
        return
    print(
        "\nNOTICE: no Redis found (TEST_REDIS_URL unreachable, no redis-server installed): "
        "running on the embedded in-process store; multi-process tests are skipped.",
        file=sys.stderr,
    )
    yield RedisTarget(None, "the embedded store")


@pytest.fixture
def real_redis_url(redis_target: RedisTarget) -> Iterator[str]:
    """A flushed real Redis for tests that share it between processes."""
    if redis_target.url is None:
        pytest.skip("needs a real Redis shared between processes")
    client = redis_sync.Redis.from_url(redis_target.url)
    client.flushdb()
    client.close()
    yield redis_target.url


@pytest.fixture
async def stores(redis_target: RedisTarget) -> AsyncIterator[Stores]:
    if redis_target.url is None:
        import fakeredis

        s = Stores.on(fakeredis.aioredis.FakeRedis(decode_responses=True))
    else:
        import redis.asyncio as aredis

        s = Stores.on(aredis.Redis.from_url(redis_target.url, decode_responses=True))
    await s._client.flushdb()
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
async def redis_client(stores: Stores) -> Any:
    """The raw client under ``stores``, for tests that look at keys directly."""
    return stores._client
