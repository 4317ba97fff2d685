"""What unsigned requests cost the web process: ``python -m bench.unsigned_flood``.

Run by hand, not by the tests. Starts the fakes (Slack, Origami) and the web half as the
README runs it (``python -m bot web``, HTTP mode, on its own Redis database), then, for
each way of sending a flood:

- ``content-length``: four concurrent unsigned 10 MB JSON bodies, sent with their length;
- ``streamed``: the same four bodies, chunked (no ``Content-Length``);
- ``streamed, signature headers``: the same, with a timestamp of now and a made-up
  signature, so that a server that reads a body before it refuses it has to read it;

each flood sent ``--rounds`` times, one round after the other; it measures the web
process's resident memory before and its peak (``VmHWM``) after, and the ack latency of
signed mentions sent one after the other while the floods are in flight (a new web
process for each way, so the peaks are the flood's). ``--app-dir`` runs the
web process from another checkout, e.g. ``git worktree add /tmp/pre <commit>``, to
measure the code before a change with the same bench.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx
import redis.asyncio as aioredis

from bench import procs
from tests.fakes import payloads
from tests.fakes.signing import signed_headers

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
CHUNK = 64 * 1024


@dataclass
class Web:
    proc: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@dataclass
class Outcome:
    scenario: str
    rss_before_mb: float
    peak_rss_mb: float
    acks_s: list[float]
    ack_statuses: list[int]
    # Per unsigned request: its status (or the client's error) and how long it took (s).
    flood: list[tuple[str, float]] = field(default_factory=list)
    log_bytes: int = 0


async def _flush(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


async def start_web(
    app_dir: Path, slack: procs.Proc, origami: procs.Proc, redis_url: str, http: httpx.AsyncClient
) -> Web:
    """``python -m bot web`` run in ``app_dir`` (``-m`` puts it first on ``sys.path``)."""
    port = procs.free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "ORIGAMI_", "REDIS_", "HOST", "PORT"))
    }
    env.update(
        SLACK_BOT_TOKEN=slack.info["bot_token"],
        SLACK_SIGNING_SECRET=procs.SIGNING_SECRET,
        SLACK_API_URL=slack.info["url"],
        ORIGAMI_API_KEY=origami.info["api_key"],
        ORIGAMI_API_URL=origami.info["url"],
        REDIS_URL=redis_url,
        HOST="127.0.0.1",
        PORT=str(port),
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    web = _spawn_web(app_dir, env, port)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if web.proc.poll() is not None:
            raise RuntimeError(f"web exited with {web.proc.returncode}:\n{web.log()}")
        with contextlib.suppress(httpx.TransportError):
            if (await http.get(f"{web.url}/healthz", timeout=2)).status_code == 200:
                return web
        await asyncio.sleep(0.05)
    web.stop()
    raise RuntimeError(f"web did not come up:\n{web.log()}")


def _spawn_web(app_dir: Path, env: dict[str, str], port: int) -> Web:
    fd, path = tempfile.mkstemp(prefix="flood-web-", suffix=".log", dir=procs.log_dir())
    with open(fd, "wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "web"],
            cwd=str(app_dir),
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    return Web(proc, f"http://127.0.0.1:{port}", Path(path))


def _mention() -> tuple[bytes, dict[str, str]]:
    body = payloads.to_event_body(payloads.events_api(payloads.app_mention("find founders")))
    return body, signed_headers(procs.SIGNING_SECRET, body)


async def _ack(http: httpx.AsyncClient, url: str) -> tuple[float, int]:
    body, headers = _mention()
    started = time.perf_counter()
    response = await http.post(f"{url}/slack/events", content=body, headers=headers)
    return time.perf_counter() - started, response.status_code


def _unsigned_body(size: int) -> bytes:
    head = b'{"type": "event_callback", "event": {"type": "app_mention", "text": "'
    tail = b'"}}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


async def _chunks(body: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(body), CHUNK):
        yield body[i : i + CHUNK]
        await asyncio.sleep(0)


SCENARIOS = ("content-length", "streamed", "streamed, signature headers")


def _unsigned_headers(scenario: str) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if scenario.endswith("signature headers"):
        headers["X-Slack-Request-Timestamp"] = str(int(time.time()))
        headers["X-Slack-Signature"] = "v0=" + "0" * 64
    return headers


async def _unsigned(url: str, body: bytes, scenario: str) -> tuple[str, float]:
    streamed = scenario.startswith("streamed")
    started = time.perf_counter()
    # One client per request: each its own connection, as an attacker's would be.
    async with httpx.AsyncClient(timeout=60) as http:
        try:
            content = _chunks(body) if streamed else body
            response = await http.post(
                f"{url}/slack/events",
                content=content,
                headers=_unsigned_headers(scenario),
            )
            what = str(response.status_code)
        except httpx.HTTPError as exc:
            # A server that answers before reading the body closes the connection under
            # an upload still going: the client sees that instead of the answer.
            what = type(exc).__name__
    return what, time.perf_counter() - started


async def run_scenario(
    scenario: str,
    app_dir: Path,
    slack: procs.Proc,
    origami: procs.Proc,
    redis_url: str,
    flood: int,
    rounds: int,
    body_bytes: int,
) -> Outcome:
    await _flush(redis_url)
    async with httpx.AsyncClient(timeout=30) as http:
        web = await start_web(app_dir, slack, origami, redis_url, http)
        try:
            for _ in range(5):  # warm: the first requests pay for imports and auth.test
                await _ack(http, web.url)
            await asyncio.sleep(0.5)
            before = procs.rss_mb(web.proc.pid)
            body = _unsigned_body(body_bytes)
            acks: list[float] = []
            statuses: list[int] = []
            results: list[tuple[str, float]] = []
            for _ in range(rounds):
                flooding = [
                    asyncio.create_task(_unsigned(web.url, body, scenario)) for _ in range(flood)
                ]
                await asyncio.sleep(0.02)  # the flood's first bytes are on their way
                while not all(t.done() for t in flooding):
                    took, status = await _ack(http, web.url)
                    acks.append(took)
                    statuses.append(status)
                    await asyncio.sleep(0.02)
                results += [await t for t in flooding]
            await asyncio.sleep(0.2)
            peak = procs.peak_rss_mb(web.proc.pid)
        finally:
            web.stop()
        return Outcome(scenario, before, peak, acks, statuses, results, web.log_path.stat().st_size)


def _report(outcome: Outcome) -> None:
    acks_ms = [a * 1000 for a in outcome.acks_s] or [float("nan")]
    print(f"{outcome.scenario}:")
    print(
        f"  web RSS: {outcome.rss_before_mb:.0f} MiB before the flood, "
        f"peak {outcome.peak_rss_mb:.0f} MiB"
    )
    print(
        f"  signed mentions during the flood: {len(acks_ms)}, ack "
        f"p50 {statistics.median(acks_ms):.0f} ms, max {max(acks_ms):.0f} ms "
        f"(statuses {sorted(set(outcome.ack_statuses))})"
    )
    answers = Counter(what for what, _ in outcome.flood)
    slowest = max(took for _, took in outcome.flood)
    print(f"  unsigned requests: {dict(answers)}, the slowest done in {slowest:.2f} s")
    print(f"  web log: {outcome.log_bytes} bytes")


async def _main(args: argparse.Namespace, app_dir: Path) -> int:
    if urlparse(args.redis_url).hostname not in ("127.0.0.1", "localhost"):
        print("the bench only talks to loopback: give a redis://127.0.0.1 URL", file=sys.stderr)
        return 2
    print(f"(the web process: python -m bot web in {app_dir})")
    slack = await procs.start_fake("slack")
    origami = await procs.start_fake("origami")
    try:
        for scenario in SCENARIOS:
            outcome = await run_scenario(
                scenario,
                app_dir,
                slack,
                origami,
                args.redis_url,
                args.flood,
                args.rounds,
                int(args.body_mb * 1_000_000),
            )
            _report(outcome)
    finally:
        slack.stop()
        origami.stop()
        await _flush(args.redis_url)
    print(f"(logs: {procs.log_dir()})")
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.unsigned_flood", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--app-dir", help="run python -m bot web from this checkout")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help="flushed before each step")
    parser.add_argument("--flood", type=int, default=4, help="unsigned requests in flight")
    parser.add_argument("--rounds", type=int, default=5, help="floods, one after the other")
    parser.add_argument("--body-mb", type=float, default=10.0, help="size of each (MB)")
    args = parser.parse_args(argv)
    app_dir = Path(args.app_dir).resolve() if args.app_dir else ROOT
    sys.exit(asyncio.run(_main(args, app_dir)))


if __name__ == "__main__":
    main()
