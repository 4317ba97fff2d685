"""Figure 1: ack latency of ``POST /slack/events``, the app against a bare Bolt app.

The app in either layout (``procs.App``): ``python -m bot web`` with a ``python -m bot
worker`` beside it (the split), or ``python -m bot`` (all-in-one). Both it and the bare app
are processes served the same way (uvicorn, the Starlette adapter, signature
verification with the same secret). The bench fires signed events at concurrency C in
batches that alternate between the two targets (ABBA order, so drift hits both alike).
Half the events are mentions that start a conversation in a new thread; half are replies
in threads the same target's earlier mentions opened (follow-up runs, or queued behind a
run still going). The app's real work after each ack happens during its own batches: its
"On it" post, the Origami POST, and, as the bench shortens the first poll to 0.1 s and the
fake's runs end at their first poll, the poll and the posted result as well. Before each
bare batch the bench waits until the app is quiet (nothing scheduled, no CPU used), so the
app's leftover work does not land on the bare app's figures.

Also measured: the CPU (user + system seconds, ``/proc/<pid>/stat``) each event costs the
process that serves Slack (the web process, or the one process), the worker process, and
the bare app, over the measured batches (from the first batch to the app quiet after the
last, so the work the app does after each ack counts), divided by the events each was sent.

And, as a person sees it: how long after each mention its "On it" message is
posted (the fake Slack's record of the post against the bench's send time, both wall
clock), under this load and, before it, with mentions sent one at a time.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import procs
from bench.common import (
    SUFFIX,
    Fakes,
    Figure,
    app_with_fakes,
    emit,
    fire,
    flush,
    fmt,
    mention_body,
    percentile,
    reply_body,
    scheduled,
    signed,
    thread_of,
    wait_until,
)

CHANNELS = [f"C0BENCH{i:02d}" for i in range(10)]


@dataclass(frozen=True)
class AckConfig:
    events: int  # per target
    concurrency: int
    batch: int
    warmup: int
    alone: int  # mentions sent one at a time, for the "On it" latency without load


QUICK = AckConfig(events=400, concurrency=8, batch=100, warmup=40, alone=20)
FULL = AckConfig(events=3000, concurrency=8, batch=100, warmup=100, alone=50)


class _Target:
    def __init__(self, name: str, url: str) -> None:
        self.name = name
        self.url = f"{url}/slack/events"
        self.threads: list[tuple[str, str]] = []
        self.times: list[float] = []
        self.batches: list[list[float]] = []
        self.sent_at: dict[bytes, float] = {}  # when each event went out (wall clock)
        self.mentions: dict[bytes, tuple[str, str]] = {}  # mention body -> its thread

    def batch(self, size: int, rng: random.Random) -> list[tuple[bytes, dict[str, str]]]:
        """Half mentions in new threads, half replies in this target's earlier threads."""
        bodies: list[bytes] = []
        replies = min(size // 2, len(self.threads))
        for channel, ts in rng.sample(self.threads, replies):
            bodies.append(reply_body(channel, ts))
        for _ in range(size - replies):
            body = mention_body(rng.choice(CHANNELS))
            self.threads.append(thread_of(body))
            self.mentions[body] = thread_of(body)
            bodies.append(body)
        rng.shuffle(bodies)
        return [(body, signed(body)) for body in bodies]


async def _quiet(app: procs.App, redis_url: str, limit_s: float = 30.0) -> None:
    """Nothing left scheduled and the app's CPU clock stands still for 0.3 s."""

    async def check() -> bool:
        if await scheduled(redis_url):
            return False
        before = app.cpu()
        await _sleep(0.3)
        return app.cpu() - before < 0.02

    await wait_until(check, limit_s)


async def _sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


@dataclass
class _Cpu:
    """CPU seconds over the measured batches."""

    web: float  # the process that serves Slack, alone
    worker: float | None  # the worker process (split, or an older python -m bot's child)
    bare: float
    wall: float
    who: str  # what ``web`` is


def _minus(after: float | None, before: float | None) -> float | None:
    return None if after is None or before is None else after - before


def _who(app: procs.App) -> str:
    if app.worker:
        return "web process"
    if procs.descendants(app.web.pid):  # an older python -m bot, with a worker of its own
        return "the process serving Slack, not its worker child"
    return "the one process, both halves"


async def _measure(
    config: AckConfig,
    targets: list[_Target],
    app: procs.App,
    bare: procs.Proc,
    redis_url: str,
    profile: Path | None,
) -> _Cpu:
    """Warm both up, then fire alternating batches; the CPU each process used meanwhile."""
    rng = random.Random(5)
    limits = httpx.Limits(max_connections=config.concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        for target in targets:  # warm-up: connections, auth.test, code paths
            await fire(client, target.url, target.batch(config.warmup, rng), 4)
        await _quiet(app, redis_url)
        spies = procs.start_profiler(app.procs, profile) if profile else []
        batches = max(1, config.events // config.batch)
        web0, bare0, worker0 = app.web_cpu(), bare.own_cpu(), app.worker_cpu()
        started = time.monotonic()
        for i in range(batches):
            order = targets if i % 2 == 0 else targets[::-1]
            for target in order:
                if target.name == "bare":
                    await _quiet(app, redis_url)
                requests = target.batch(config.batch, rng)
                times = await fire(client, target.url, requests, config.concurrency, target.sent_at)
                target.times += times
                target.batches.append(times)
        await _quiet(app, redis_url)
        wall = time.monotonic() - started
        cpu = _Cpu(
            web=app.web_cpu() - web0,
            worker=_minus(app.worker_cpu(), worker0),
            bare=bare.own_cpu() - bare0,
            wall=wall,
            who=_who(app),
        )
        procs.stop_profiler(spies)
    return cpu


async def run(
    config: AckConfig,
    redis_url: str,
    http: httpx.AsyncClient,
    out: list[Figure],
    profile: Path | None = None,
    layout: str = "split",
    suffix: str | None = None,
    worker_nice: int = 0,
) -> None:
    """Measure ``layout``; every figure's name ends with ``suffix`` (default: the layout's)."""
    sx = SUFFIX[layout] if suffix is None else suffix
    await flush(redis_url)
    async with app_with_fakes(
        redis_url,
        http,
        ["--retry-after", "1", "--polls", "0"],
        layout=layout,
        worker_nice=worker_nice,
        ORIGAMI_FIRST_POLL_SECONDS="0.1",
        ORIGAMI_REQUESTS_PER_MINUTE="1000000",
    ) as (app, fakes):
        alone = await _on_it_one_at_a_time(app, fakes, http, config.alone)
        bare = await procs.start_bare_app(fakes.slack, http)
        try:
            targets = [_Target("app", app.info["url"]), _Target("bare", bare.info["url"])]
            cpu = await _measure(config, targets, app, bare, redis_url, profile)
            rejections = await fakes.slack_rejections()
            _, calls = await fakes.slack_calls()
        finally:
            bare.stop()
            procs.report_errors(bare)
    app_t, bare_t = targets[0].times, targets[1].times
    a50, a99 = percentile(app_t, 50) * 1000, percentile(app_t, 99) * 1000
    b50, b99 = percentile(bare_t, 50) * 1000, percentile(bare_t, 99) * 1000
    ratio50, ratio99 = a50 / b50, a99 / b99
    # The same ratio per round (one app batch, one bare batch): a stall that hits one batch
    # (2 cores, six processes) moves the pooled p99 a lot and this median little.
    rounds = [
        percentile(a, 99) / percentile(b, 99)
        for a, b in zip(targets[0].batches, targets[1].batches, strict=True)
    ]
    n, c = len(app_t), config.concurrency
    emit(Figure(f"ack-latency app p50{sx}", fmt(a50, 2), f"ms (n={n}, c={c})"), out)
    emit(Figure(f"ack-latency app p99{sx}", fmt(a99, 2), f"ms (n={n}, c={c})"), out)
    emit(Figure(f"ack-latency bare-bolt p50{sx}", fmt(b50, 2), f"ms (n={len(bare_t)}, c={c})"), out)
    emit(Figure(f"ack-latency bare-bolt p99{sx}", fmt(b99, 2), f"ms (n={len(bare_t)}, c={c})"), out)
    emit(Figure(f"ack-latency ratio p50 app/bare{sx}", fmt(ratio50, 2), "x"), out)
    emit(
        Figure(
            f"ack-latency ratio p99 app/bare{sx}", fmt(ratio99, 2), "x", "<= 1.10", ratio99 <= 1.10
        ),
        out,
    )
    emit(
        Figure(
            f"ack-latency ratio p99 app/bare, median of rounds{sx}",
            fmt(percentile(rounds, 50), 2),
            f"x ({len(rounds)} rounds of {config.batch} events each side)",
        ),
        out,
    )
    web_ms, bare_ms = cpu.web / n * 1000, cpu.bare / len(bare_t) * 1000
    over = f"over {cpu.wall:.0f} s of batches"
    who = cpu.who
    emit(
        Figure(
            f"ack CPU per event, web process{sx}",
            fmt(web_ms, 3),
            f"ms ({who}: {cpu.web:.2f} s user+system / {n} events, {over})",
        ),
        out,
    )
    if cpu.worker is not None:
        emit(
            Figure(
                f"ack CPU per event, worker process{sx}",
                fmt(cpu.worker / n * 1000, 3),
                f"ms ({cpu.worker:.2f} s / {n} events: each one's On it, run, poll, result)",
            ),
            out,
        )
    emit(
        Figure(
            f"ack CPU per event, bare-bolt{sx}",
            fmt(bare_ms, 3),
            f"ms ({cpu.bare:.2f} s / {len(bare_t)} events)",
        ),
        out,
    )
    emit(Figure(f"ack CPU ratio web/bare{sx}", fmt(web_ms / bare_ms, 2), "x"), out)
    emit(
        Figure(
            f"ack-latency slack rule rejections{sx}",
            str(rejections),
            f"(measured for {cpu.wall:.0f} s)",
        ),
        out,
    )
    # What the person sees: the "On it" message in the thread of each measured mention.
    on_it = _on_it_ms(targets[0], calls)
    if on_it:
        unit = f"ms after the mention was sent (n={len(on_it)} mentions)"
        p50, p95 = fmt(percentile(on_it, 50), 1), fmt(percentile(on_it, 95), 1)
        emit(Figure(f'"On it" posted p50, under the load{sx}', p50, unit), out)
        emit(Figure(f'"On it" posted p95, under the load{sx}', p95, unit), out)
    unit = f"ms after the mention was sent (n={len(alone)} mentions, 0.1 s apart)"
    p50, p95 = fmt(percentile(alone, 50), 1), fmt(percentile(alone, 95), 1)
    emit(Figure(f'"On it" posted p50, one at a time{sx}', p50, unit), out)
    emit(Figure(f'"On it" posted p95, one at a time{sx}', p95, unit), out)


async def _on_it_one_at_a_time(
    app: procs.App, fakes: Fakes, http: httpx.AsyncClient, count: int
) -> list[float]:
    """The "On it" latency when mentions come one at a time (0.1 s apart), before the load;
    the first few (connections, code paths warming up) are left out."""
    target = _Target("app", app.info["url"])
    rng = random.Random(7)
    for _ in range(count + 5):
        await fire(http, target.url, target.batch(1, rng), 1, target.sent_at)
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # the last one's "On it"
    _, calls = await fakes.slack_calls()
    first = set(list(target.mentions)[:5])
    kept = {b: t for b, t in target.mentions.items() if b not in first}
    target.mentions = kept
    return _on_it_ms(target, calls)


def _on_it_ms(target: _Target, calls: list[list[object]]) -> list[float]:
    """Per measured mention: from its send to the ``chat.postMessage`` of its "On it"."""
    posted: dict[tuple[str, str], float] = {}
    for method, at, channel, _ts, thread_ts, event_type, *_ in calls:
        if method == "chat.postMessage" and event_type == "origami_ack":
            posted.setdefault((str(channel), str(thread_ts)), float(str(at)))
    return [
        (posted[thread] - target.sent_at[body]) * 1000
        for body, thread in target.mentions.items()
        if body in target.sent_at and thread in posted
    ]
