"""Figures 2 and 3: how many runs one worker process watches at a 1 s poll interval, and
how soon a finished run's result is posted.

For each K: fresh fakes (own processes), a fresh app (``python -m bot web`` with one
``python -m bot worker`` beside it, or ``python -m bot`` alone: ``procs.App``; its Origami
request budget raised out of the way), Redis flushed. K runs are then put in flight without K
Slack events (figure 1 measures those), by doing what the app itself does when a mention
arrives: the agent and its run are created on the fake Origami through its public API
(``POST /agents``; each run answers ``running`` with ``Retry-After: 1`` for 10 polls, then
``completed``), the "On it" progress message is posted to the fake Slack as the bot
(``chat.postMessage``, the app's own ack blocks), and Redis is written with the app's own
store call the app makes once Origami took the prompt (``RunStore.watch``). First
polls are spread uniformly over one second, as if the mentions had come in over that
second. The app then polls each run 11 times, updating its progress message each time,
and posts the result.

Measured from the fakes' own records: per run, the gaps between consecutive polls (the
deviation from 1 s), all Origami requests against the ideal (11 polls per run, and one
read of each result table's rows for its lead preview), and the time from the poll that
first saw ``completed`` to the ``chat.postMessage`` carrying the result. From ``/proc``:
the CPU seconds over the run and the peak RSS (VmHWM) of the process that watches (the
worker; all-in-one, the one process), and the web process's apart; the fakes' and Redis'
CPU too, to show whether they, rather than the app, were the bottleneck.

All K runs of that step end in the same second too, so its delivery latency is that of a
burst of K results. A last step (``measure_steady``) keeps K runs in flight while they end
at their own pace, and measures delivery latency there, and the ack latency of mentions
sent meanwhile.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import defaultdict
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    kept_prompt_of,
    mention_body,
    percentile,
    redis_server_pid,
    scheduled,
    signed,
    wait_until,
)
from bot.domain import RunRecord
from bot.slack.blocks import build_ack
from bot.stores import connect
from bot.stores.budget import now_ms
from tests.fakes.payloads import USER_ID, new_ts

POLLS = 10  # running polls per run; the 11th poll sees it completed
INTERVAL_S = 1.0
TARGET_DEV_MS = 100.0
TARGET_RATIO = 1.01
TARGET_RSS_MB = 150.0
TARGET_DELIVERY_MS = 200.0
TEAM = "T0001"


@dataclass(frozen=True)
class CapacityConfig:
    ks: tuple[int, ...]
    steady_k: int = 0  # 0: no steady-state step
    steady_s: float = 10.0


QUICK = CapacityConfig(ks=(100, 250), steady_k=250, steady_s=5.0)
FULL = CapacityConfig(ks=(100, 250, 500, 1000), steady_k=1000)


@dataclass
class KResult:
    k: int
    dev_p50_ms: float
    dev_p95_ms: float
    ratio: float
    cpu_s: float  # the watching process
    wall_s: float
    rss_mb: float  # the watching process
    web_cpu_s: float | None  # the web process (split layout)
    web_rss_mb: float | None
    delivered: int
    delivery_p50_ms: float
    delivery_p95_ms: float
    fake_slack_cpu: float
    fake_origami_cpu: float
    redis_cpu: float

    @property
    def holds(self) -> bool:
        return (
            self.delivered == self.k
            and self.dev_p95_ms <= TARGET_DEV_MS
            and self.ratio <= TARGET_RATIO
            and self.rss_mb <= TARGET_RSS_MB
        )


async def _seed(
    k: int, fakes: Fakes, redis_url: str, http: httpx.AsyncClient, first: int = 0
) -> list[str]:
    """Put K runs in flight as the app would (numbered from ``first``); their run ids."""
    origami, slack = fakes.origami.info, fakes.slack.info
    ack = build_ack()
    limit = asyncio.Semaphore(32)

    async def one(i: int) -> RunRecord:
        async with limit:
            channel = f"C0CAP{i % 20:02d}"
            thread_ts = new_ts()
            created = await http.post(
                f"{origami['url']}/agents",
                json={"prompt": f"find leads, batch {i}", "name": f"bench {i}"},
                headers={
                    "Authorization": f"Bearer {origami['api_key']}",
                    "Idempotency-Key": f"bench:{i}:{thread_ts}",
                },
            )
            created.raise_for_status()
            body = created.json()
            posted = await http.post(
                f"{slack['url']}chat.postMessage",
                json={
                    "channel": channel,
                    "thread_ts": thread_ts,
                    "text": ack.text,
                    "blocks": ack.blocks,
                },
                headers={"Authorization": f"Bearer {slack['bot_token']}"},
            )
            progress_ts = str(posted.json()["ts"])
            return RunRecord(
                team=TEAM,
                run_id=body["run"]["id"],
                agent_id=body["agent"]["id"],
                channel=channel,
                thread_ts=thread_ts,
                progress_ts=progress_ts,
                user_id=USER_ID,
                prompt=f"find leads, batch {i}",
            )

    records = await asyncio.gather(*(one(i) for i in range(first, first + k)))
    stores = connect(redis_url)
    try:
        rng = random.Random(k)
        start_ms = now_ms() + 1000  # the first polls start a second from now
        for r in records:
            due_in = (start_ms - now_ms()) / 1000 + rng.uniform(0, INTERVAL_S)
            # What the app writes once Origami took a mention's prompt (the kept prompt it
            # drops does not exist here).
            await stores.runs.watch(r, kept_prompt_of(r), new_agent=True, first_poll_s=due_in)
    finally:
        await stores.close()
    return [r.run_id for r in records]


def _app(
    redis_url: str, http: httpx.AsyncClient, layout: str, worker_nice: int = 0
) -> AbstractAsyncContextManager[Any]:
    """Fresh fakes (runs answer ``running`` with ``Retry-After: 1``, ``POLLS`` times) and a
    fresh app in ``layout``, its Origami request budget raised out of the way."""
    return app_with_fakes(
        redis_url,
        http,
        ["--retry-after", str(int(INTERVAL_S)), "--polls", str(POLLS)],
        layout=layout,
        worker_nice=worker_nice,
        ORIGAMI_REQUESTS_PER_MINUTE="100000000",
    )


@dataclass
class _Seen:
    deviations: list[float]  # every run's poll gaps less the interval (ms)
    latencies: list[float]  # per ended run: terminal poll to its result's post (ms)
    delivered: int  # ended runs whose result was posted


def _ideal_requests(k: int, o_items: list[list[Any]]) -> int:
    """The polls each run needs (``POLLS`` running, one that sees it end), and one read of
    each result table's first rows for its lead preview (``GET /tables/{id}/rows``): a
    preview is what the result shows, not a poll. A table read twice counts once here, so
    the second read is waste in the ratio."""
    tables = {
        path.split("/")[2]
        for method, path, *_ in o_items
        if method == "GET" and path.startswith("/tables/") and path.endswith("/rows")
    }
    return k * (POLLS + 1) + len(tables)


def _observe(o_items: list[list[Any]], s_items: list[list[Any]], ended: set[str]) -> _Seen:
    """What the fakes recorded: each run's polls, and for the runs in ``ended`` the poll
    that first saw them finished and the ``chat.postMessage`` that carried the result."""
    polls: dict[str, list[float]] = defaultdict(list)
    terminal_at: dict[str, float] = {}
    for method, path, at, status, retry_after in o_items:
        parts = path.split("/")
        if method == "GET" and len(parts) == 5 and parts[3] == "runs":
            polls[parts[4]].append(at)
            if parts[4] in ended and status == 200 and retry_after is None:
                terminal_at.setdefault(parts[4], at)
    deviations = []
    for times in polls.values():
        times.sort()
        deviations += [(b - a - INTERVAL_S) * 1000 for a, b in itertools.pairwise(times)]
    result_at: dict[str, float] = {}
    for method, at, _ch, _ts, _th, event_type, run_id, _st, _err in s_items:
        if method == "chat.postMessage" and event_type == "origami_result" and run_id in ended:
            result_at.setdefault(run_id, at)
    latencies = [(result_at[r] - terminal_at[r]) * 1000 for r in result_at if r in terminal_at]
    return _Seen(deviations, latencies, len(result_at))


async def measure(
    k: int,
    redis_url: str,
    http: httpx.AsyncClient,
    profile: Path | None = None,
    layout: str = "split",
    worker_nice: int = 0,
) -> KResult:
    await flush(redis_url)
    async with _app(redis_url, http, layout, worker_nice) as (app, fakes):
        slack, origami = fakes.slack, fakes.origami
        watcher = app.watcher
        web = app.web if app.worker else None
        measured = [p for p in (watcher, web, slack, origami) if p is not None]
        redis_pid = await redis_server_pid(redis_url)
        run_ids = await _seed(k, fakes, redis_url, http)
        spies = procs.start_profiler([watcher], profile) if profile else []
        o_start, _ = await fakes.origami_requests(10**9)
        s_start, _ = await fakes.slack_calls(10**9)
        cpu0 = {p.name: p.cpu() for p in measured}
        redis_cpu0 = procs.cpu_seconds(redis_pid)
        t0 = time.monotonic()
        # Ideal: 1 s to the first poll + 10 intervals + delivery. Bounded generously.
        deadline = t0 + 1 + POLLS * INTERVAL_S + 2 + max(30.0, k * 0.1)

        async def done() -> bool:
            return not await scheduled(redis_url)

        await wait_until(done, deadline - time.monotonic(), interval=0.25)
        await asyncio.sleep(0.5)  # the last result's posts
        wall = time.monotonic() - t0
        procs.stop_profiler(spies)
        cpu = {p.name: p.cpu() - cpu0[p.name] for p in measured}
        redis_cpu = procs.cpu_seconds(redis_pid) - redis_cpu0
        rss = watcher.peak_rss_mb()
        web_rss = web.peak_rss_mb() if web else None
        _, o_items = await fakes.origami_requests(o_start)
        _, s_items = await fakes.slack_calls(s_start)

    seen = _observe(o_items, s_items, set(run_ids))
    return KResult(
        k=k,
        dev_p50_ms=percentile(seen.deviations, 50),
        dev_p95_ms=percentile(seen.deviations, 95),
        ratio=len(o_items) / _ideal_requests(k, o_items),
        cpu_s=cpu[watcher.name],
        wall_s=wall,
        rss_mb=rss,
        web_cpu_s=cpu[web.name] if web else None,
        web_rss_mb=web_rss,
        delivered=seen.delivered,
        delivery_p50_ms=percentile(seen.latencies, 50),
        delivery_p95_ms=percentile(seen.latencies, 95),
        fake_slack_cpu=cpu["fake-slack"],
        fake_origami_cpu=cpu["fake-origami"],
        redis_cpu=redis_cpu,
    )


@dataclass
class SteadyResult:
    k: int
    ends_per_s: float
    ended: int
    delivered: int
    dev_p95_ms: float
    delivery_p50_ms: float
    delivery_p95_ms: float
    acks_ms: list[float]  # ack latency of the mentions sent meanwhile


async def measure_steady(
    k: int,
    seconds: float,
    redis_url: str,
    http: httpx.AsyncClient,
    layout: str = "split",
    worker_nice: int = 0,
) -> SteadyResult:
    """K runs in flight the whole time, ending at the rate a 10 s run gives (K/10 a
    second: 100 a second for K=1000), each replaced by a new one as it ends.

    The step above starts all K runs in the same second, so they also all end in the same
    second: a burst of K results at once. Here the ends are spread as they are when runs
    start and end at their own pace (Little's law: K in flight, each ``POLLS`` seconds
    long). Runs never end by themselves (the fake's script); every 0.1 s the bench ends a
    random tenth of a second's worth at the fake and seeds as many new ones. Delivery
    latency as above, for every run ended this way."""
    await flush(redis_url)
    per_tick = max(1, k // (POLLS * 10))
    async with _app(redis_url, http, layout, worker_nice) as (app, fakes):
        await fakes.script(None)  # runs go on until ended
        in_flight = await _seed(k, fakes, redis_url, http)
        await asyncio.sleep(2 * INTERVAL_S)  # every run polled at least once
        o_start, _ = await fakes.origami_requests(10**9)
        s_start, _ = await fakes.slack_calls(10**9)
        rng = random.Random(k)
        ended: list[str] = []
        seeded = k
        acks: list[float] = []
        mentions = asyncio.create_task(_mention_now_and_then(app, http, acks))
        t0 = time.monotonic()
        tick = 0
        while time.monotonic() - t0 < seconds:
            tick += 1
            rng.shuffle(in_flight)
            ending, in_flight = in_flight[:per_tick], in_flight[per_tick:]
            await fakes.finish(ending)
            ended += ending
            in_flight += await _seed(per_tick, fakes, redis_url, http, first=seeded)
            seeded += per_tick
            await asyncio.sleep(max(0.0, t0 + tick * 0.1 - time.monotonic()))
        mentions.cancel()
        await asyncio.gather(mentions, return_exceptions=True)
        wanted = set(ended)

        async def all_delivered() -> bool:
            _, items = await fakes.slack_calls(s_start)
            got = {i[6] for i in items if i[0] == "chat.postMessage" and i[5] == "origami_result"}
            return wanted <= got

        await wait_until(all_delivered, 30, interval=0.25)
        _, o_items = await fakes.origami_requests(o_start)
        _, s_items = await fakes.slack_calls(s_start)
    seen = _observe(o_items, s_items, wanted)
    return SteadyResult(
        k=k,
        ends_per_s=per_tick * 10,
        ended=len(wanted),
        delivered=seen.delivered,
        dev_p95_ms=percentile(seen.deviations, 95),
        delivery_p50_ms=percentile(seen.latencies, 50),
        delivery_p95_ms=percentile(seen.latencies, 95),
        acks_ms=[a * 1000 for a in acks],
    )


async def _mention_now_and_then(
    app: procs.App, http: httpx.AsyncClient, acks: list[float], every_s: float = 0.1
) -> None:
    """A mention every ``every_s`` (one at a time, each in a new thread), until cancelled:
    how fast Slack is answered while the app watches and delivers its runs. Each starts a
    run that goes on to the end of the step (about 100 more in flight by then)."""
    url = f"{app.info['url']}/slack/events"
    rng = random.Random(3)
    while True:
        body = mention_body(f"C0STEADY{rng.randrange(10)}")
        acks += await fire(http, url, [(body, signed(body))], 1)
        await asyncio.sleep(every_s)


async def run(
    config: CapacityConfig,
    redis_url: str,
    http: httpx.AsyncClient,
    out: list[Figure],
    profile_dir: Path | None = None,
    layout: str = "split",
    worker_nice: int = 0,
) -> list[KResult]:
    """Measure ``layout``; every figure's name ends with the layout's suffix (``SUFFIX``)."""
    sx = SUFFIX[layout]
    results: list[KResult] = []
    for k in config.ks:
        profile = profile_dir / f"{layout}-K{k}.txt" if profile_dir else None
        r = await measure(k, redis_url, http, profile, layout, worker_nice)
        if profile is not None:
            print(f"  (py-spy collapsed stacks of the watching process: {profile})", flush=True)
        results.append(r)
        tag = f"[K={k}]{sx}"
        emit(
            Figure(f"watcher poll-interval deviation p50 {tag}", fmt(r.dev_p50_ms), "ms", "", None),
            out,
        )
        emit(
            Figure(
                f"watcher poll-interval deviation p95 {tag}",
                fmt(r.dev_p95_ms),
                "ms",
                f"<= {TARGET_DEV_MS:.0f}",
                r.dev_p95_ms <= TARGET_DEV_MS,
            ),
            out,
        )
        emit(
            Figure(
                f"watcher origami requests/ideal {tag}",
                fmt(r.ratio, 3),
                "x",
                f"<= {TARGET_RATIO}",
                r.ratio <= TARGET_RATIO,
            ),
            out,
        )
        watching = "worker process" if r.web_cpu_s is not None else "the one process"
        emit(
            Figure(
                f"watcher app CPU {tag}",
                fmt(r.cpu_s, 1),
                f"s over {r.wall_s:.1f} s wall ({watching}, {100 * r.cpu_s / r.wall_s:.0f}% "
                "of a core; "
                f"fake slack {100 * r.fake_slack_cpu / r.wall_s:.0f}%, "
                f"fake origami {100 * r.fake_origami_cpu / r.wall_s:.0f}%, "
                f"redis {100 * r.redis_cpu / r.wall_s:.0f}%)",
            ),
            out,
        )
        emit(
            Figure(
                f"watcher app peak RSS {tag}",
                fmt(r.rss_mb),
                f"MB ({watching})",
                f"<= {TARGET_RSS_MB:.0f}",
                r.rss_mb <= TARGET_RSS_MB,
            ),
            out,
        )
        if r.web_cpu_s is not None and r.web_rss_mb is not None:
            emit(
                Figure(
                    f"watcher web CPU / peak RSS {tag}",
                    f"{fmt(r.web_cpu_s, 2)} s / {fmt(r.web_rss_mb)}",
                    "MB (the web process beside the worker, no events sent)",
                ),
                out,
            )
        emit(
            Figure(
                f"watcher results delivered {tag}",
                str(r.delivered),
                f"of {k}",
                str(k),
                r.delivered == k,
            ),
            out,
        )
        emit(
            Figure(f"delivery latency p50 {tag}", fmt(r.delivery_p50_ms), "ms", "", None),
            out,
        )
        emit(
            Figure(
                f"delivery latency p95 {tag}",
                fmt(r.delivery_p95_ms),
                "ms",
                f"<= {TARGET_DELIVERY_MS:.0f}",
                r.delivery_p95_ms <= TARGET_DELIVERY_MS,
            ),
            out,
        )
    if config.steady_k:
        st = await measure_steady(
            config.steady_k, config.steady_s, redis_url, http, layout, worker_nice
        )
        tag = f"[K={st.k} in flight, {st.ends_per_s:.0f} ends/s for {config.steady_s:.0f} s]{sx}"
        emit(
            Figure(
                f"steady state: results delivered {tag}",
                str(st.delivered),
                f"of {st.ended} ended",
                str(st.ended),
                st.delivered == st.ended,
            ),
            out,
        )
        emit(
            Figure(f"steady state: poll-interval deviation p95 {tag}", fmt(st.dev_p95_ms), "ms"),
            out,
        )
        p50 = fmt(st.delivery_p50_ms)
        emit(Figure(f"steady state: delivery latency p50 {tag}", p50, "ms"), out)
        ack_p = f"{fmt(percentile(st.acks_ms, 50))} / {fmt(percentile(st.acks_ms, 99))}"
        emit(
            Figure(
                f"steady state: ack latency p50 / p99 {tag}",
                ack_p,
                f"ms (a mention every 0.1 s, one at a time, n={len(st.acks_ms)})",
            ),
            out,
        )
        emit(
            Figure(
                f"steady state: delivery latency p95 {tag}",
                fmt(st.delivery_p95_ms),
                "ms",
                f"<= {TARGET_DELIVERY_MS:.0f}",
                st.delivery_p95_ms <= TARGET_DELIVERY_MS,
            ),
            out,
        )
    held = [r.k for r in results if r.holds]
    best = max(held) if held else 0
    tried = "/".join(str(k) for k in config.ks)
    emit(
        Figure(
            f"watcher capacity (largest K held){sx}",
            str(best),
            f"runs at 1 s polls (tried K={tried})",
            ">= 1000",
            best >= 1000,
        ),
        out,
    )
    return results
