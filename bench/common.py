"""What every figure shares: percentiles, the printed line, the fakes' control API, the
Slack events the bench sends, and the Redis the bench owns."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import redis.asyncio as aioredis

from bench import procs
from bench.procs import SIGNING_SECRET, Proc
from bot.domain import KeptPrompt, PromptKind, RunRecord
from tests.fakes import payloads
from tests.fakes.signing import signed_headers


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100), linear between closest ranks; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Figure:
    """One printed line: ``name: value unit (target ...) PASS/MISS``."""

    name: str
    value: str
    unit: str
    target: str = ""
    passed: bool | None = None  # None: informational, no target
    detail: str = ""  # printed on an indented line below, left out of the table

    def line(self) -> str:
        text = f"{self.name}: {self.value} {self.unit}".rstrip()
        if self.target:
            text += f" (target {self.target})"
        if self.passed is not None:
            text += " PASS" if self.passed else " MISS"
        if self.detail:
            text += f"\n    {self.detail}"
        return text


def fmt(value: float, digits: int = 1) -> str:
    return "n/a" if math.isnan(value) else f"{value:.{digits}f}"


def emit(figure: Figure, sink: list[Figure]) -> None:
    sink.append(figure)
    print(figure.line(), flush=True)


# -- the fakes' control API -----------------------------------------------------------------


class Fakes:
    """The two fakes (own processes) and the index of what was already read from them."""

    def __init__(self, slack: Proc, origami: Proc, http: httpx.AsyncClient) -> None:
        self.slack = slack
        self.origami = origami
        self.http = http

    async def slack_calls(self, since: int = 0) -> tuple[int, list[list[Any]]]:
        """(total, calls from ``since``): [method, time, channel, ts, thread_ts,
        metadata event_type, metadata run_id, http status, error]."""
        r = await self.http.get(f"{self.slack.info['control_url']}/calls", params={"since": since})
        data = r.json()
        return int(data["total"]), list(data["items"])

    async def slack_rejections(self) -> int:
        r = await self.http.get(f"{self.slack.info['control_url']}/calls", params={"since": 10**9})
        return int(r.json()["rejections"])

    async def origami_requests(self, since: int = 0) -> tuple[int, list[list[Any]]]:
        """(total, requests from ``since``): [method, path, time, status, Retry-After]."""
        r = await self.http.get(
            f"{self.origami.info['control_url']}/requests", params={"since": since}
        )
        data = r.json()
        return int(data["total"]), list(data["items"])

    async def script(self, polls: int | None, status: str = "completed") -> None:
        await self.http.post(
            f"{self.origami.info['control_url']}/script", json={"polls": polls, "status": status}
        )

    async def finish(self, run_ids: Sequence[str]) -> None:
        await self.http.post(
            f"{self.origami.info['control_url']}/finish", json={"run_ids": list(run_ids)}
        )

    def stop(self) -> None:
        self.slack.stop()
        self.origami.stop()


# The app's two layouts, and what their figures' names carry: the split's none, so they
# compare with the figures of before the restructuring, when ``python -m bot`` was a Slack
# process with one worker process beside it.
LAYOUTS = ("split", "all")
SUFFIX = {"split": "", "all": " [all-in-one]"}


@contextlib.asynccontextmanager
async def app_with_fakes(
    redis_url: str,
    http: httpx.AsyncClient,
    origami_args: Sequence[str],
    layout: str = "split",
    worker_nice: int = 0,
    **settings: str,
) -> AsyncIterator[tuple[procs.App, Fakes]]:
    """Both fakes (``origami_args`` for the Origami one) and the app on ``redis_url``, in
    ``layout`` (see ``procs.App``); stopped on the way out, with the errors the app's
    processes logged reported."""
    slack = await procs.start_fake("slack")
    origami = await procs.start_fake("origami", *origami_args)
    fakes = Fakes(slack, origami, http)
    app = None
    try:
        app = await procs.start_app(
            slack, origami, redis_url, http, layout=layout, worker_nice=worker_nice, **settings
        )
        yield app, fakes
    finally:
        if app is not None:
            app.stop()
        fakes.stop()


# -- Slack events ---------------------------------------------------------------------------


def mention_body(channel: str, text: str = "find 20 seed-stage SaaS founders in Austin") -> bytes:
    """An ``app_mention`` in a new top-level message (a thread with no agent yet)."""
    event = payloads.app_mention(text, channel=channel)
    return payloads.to_event_body(payloads.events_api(event))


def reply_body(channel: str, thread_ts: str, text: str = "only those with a work email") -> bytes:
    """A person's reply in a thread (no mention)."""
    event = payloads.thread_reply(text, thread_ts=thread_ts, channel=channel)
    return payloads.to_event_body(payloads.events_api(event))


def thread_of(body: bytes) -> tuple[str, str]:
    """(channel, ts) of the message an event body carries."""
    import json

    event = json.loads(body)["event"]
    return str(event["channel"]), str(event.get("thread_ts") or event["ts"])


def signed(body: bytes, retry_num: int | None = None) -> dict[str, str]:
    return signed_headers(SIGNING_SECRET, body, retry_num=retry_num)


async def fire(
    http: httpx.AsyncClient,
    url: str,
    requests: Sequence[tuple[bytes, dict[str, str]]],
    concurrency: int,
    sent_at: dict[bytes, float] | None = None,
) -> list[float]:
    """POST each (body, headers) with ``concurrency`` in flight; each response time (s).

    Bodies are built and signed beforehand, so the time is the HTTP exchange only.
    ``sent_at``: filled with each body's wall-clock send time (to match what the fakes
    recorded, which use the wall clock too).
    """
    queue: asyncio.Queue[tuple[bytes, dict[str, str]]] = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)
    times: list[float] = []

    async def worker() -> None:
        while True:
            try:
                body, headers = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            if sent_at is not None:
                sent_at[body] = time.time()
            t0 = time.perf_counter()
            response = await http.post(url, content=body, headers=headers)
            times.append(time.perf_counter() - t0)
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code}: {response.text}")

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return times


async def wait_until(
    check: Callable[[], Awaitable[bool]], limit_s: float, interval: float = 0.1
) -> bool:
    """Poll ``check`` until it holds or ``limit_s`` passes (bounded); whether it held."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(interval)
    return await check()


# -- Redis ----------------------------------------------------------------------------------


async def flush(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


async def scheduled(redis_url: str) -> int:
    client = aioredis.Redis.from_url(redis_url)
    try:
        return int(await client.zcard("ogs:watch:due"))
    finally:
        await client.aclose()


async def redis_server_pid(redis_url: str) -> int:
    client = aioredis.Redis.from_url(redis_url)
    try:
        info = await client.info("server")
        return int(info["process_id"])
    finally:
        await client.aclose()


def kept_prompt_of(record: RunRecord) -> KeptPrompt:
    """The kept prompt a run of the app would have come from."""
    return KeptPrompt(
        id=f"bench-{record.run_id}",
        team=record.team,
        channel=record.channel,
        thread_ts=record.thread_ts,
        kind=PromptKind.START,
        agent_id="",
        text=record.prompt,
        user_id=record.user_id,
        cause=f"bench:{record.run_id}",
    )
