"""Figure 4: Redis round trips (and commands) per handled Slack event and per poll, and
Origami requests per conversation.

Method. The app reaches Redis through ``bench.redisproxy.CountingProxy``: a round trip is
one write by the app followed by Redis' answer, so a pipeline, a MULTI/EXEC block or an
EVALSHA is one round trip whatever it holds (the target counts them so). Commands are
``INFO commandstats`` summed over all commands (scripts' inner calls, MULTI and EXEC
included) before and after each step, read on a connection of the bench's own that does
nothing else, less the ``INFO`` calls themselves.

The watcher's idle loop (a claim that finds nothing due, at most four times a second) runs
the whole time; during the event steps no run is due (the first poll is a minute away), so
claims that find nothing are the idle loop and are left out of the per-event figures (and
their commands subtracted: 3 each), as are the worker's heartbeats (every 5 s). A claim
that takes something (the prompt a mention's web step kept for a worker) counts: the proxy
keeps the head of each answer. The app runs split (``python -m bot web`` and ``python -m
bot worker``, both through the proxy) unless only the all-in-one layout is asked for: its
round trips are the same, the path of a message does not depend on the layout.

Steps, app A (first poll 60 s, so no poll mixes in): mentions that start a conversation;
replies in those threads while their runs go (queued); replies in threads whose agent is
idle (a follow-up run; the idle threads are seeded as a delivered run leaves them: agent
created on the fake through its API, its run finished, ``bind_agent``);
replies in threads the app has never seen (ignored); Slack's retries of the mentions
(dropped as duplicates). App B (first poll 1 s): S whole conversations (mention, 10 running
polls at ``Retry-After: 1``, the result); per poll counted in the window where every run is
between its second and its last poll (no event, no delivery in it).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from urllib.parse import urlparse

import httpx
import redis.asyncio as aioredis

from bench import procs
from bench.common import (
    Fakes,
    Figure,
    app_with_fakes,
    emit,
    fire,
    flush,
    fmt,
    kept_prompt_of,
    mention_body,
    reply_body,
    signed,
    thread_of,
    wait_until,
)
from bench.redisproxy import CountingProxy, RoundTrip
from bot.domain import Busy, BusyKind, RunRecord
from bot.stores import connect
from tests.fakes.payloads import new_ts

TARGET_RT = 3.0
TEAM = "T0001"
SCHEDULE = "ogs:watch:due"
BUDGET = "ogs:origami:budget"


@dataclass(frozen=True)
class RoundTripConfig:
    events: int  # per kind of event
    conversations: int


QUICK = RoundTripConfig(events=30, conversations=30)
FULL = RoundTripConfig(events=100, conversations=100)


def _claimed_nothing(answer: bytes) -> bool:
    """Whether a claim's answer (``[claimed, admitted, ...]``) claimed no member."""
    lines = answer.split(b"\r\n")
    return len(lines) > 1 and lines[1] == b"*0"


def kind(trip: RoundTrip) -> str:
    """What a round trip was for, from the commands it carried."""
    cmds = trip.commands
    if not cmds:
        return "empty"
    first = [a for a in cmds[0]]
    name = first[0].upper()
    if name == "EVALSHA" and len(first) >= 4:
        key = first[3]
        if key == SCHEDULE:
            # The claim's second key is the request budget; the settle's is a TTL.
            claim = len(first) > 4 and first[4] == BUDGET
            if not claim:
                return "settle-script"
            # The idle loop's claims find nothing; one that claims something (a prompt
            # handed off by the Slack process) is work for the event that caused it.
            return "claim-script" if _claimed_nothing(trip.answer_head) else "claim-taking"
        if key == BUDGET:
            return "budget-script"
        return f"script({_key_kind(key)})"
    if name == "HGETALL" and len(first) > 1 and _key_kind(first[1]) == "run":
        return "get-runs"
    names = [c[0].upper() for c in cmds if c]
    if names[0] == "MULTI":
        inner = [n for n in names[1:] if n != "EXEC"]
        keys = sorted({_key_kind(c[1]) for c in cmds[1:] if len(c) > 1})
        return f"MULTI[{','.join(inner)}]({','.join(keys)})"
    if len(cmds) > 1:
        keys = sorted({_key_kind(c[1]) for c in cmds if len(c) > 1})
        if set(names) == {"HGETALL"} and keys == ["run"]:
            return "get-runs"
        return f"pipeline[{','.join(sorted(set(names)))}]({','.join(keys)})"
    key = _key_kind(first[1]) if len(first) > 1 else ""
    return f"{name}({key})"


def _key_kind(key: str) -> str:
    parts = key.split(":")
    if len(parts) >= 3 and parts[0] == "ogs" and parts[1] not in ("watch", "origami", "slack"):
        return parts[2]
    return ":".join(parts[:3])


# The idle loop's round trips, and their commands: a claim that finds nothing due is the
# EVALSHA, its ZRANGEBYSCORE and the ZRANGE that reads the next due time; a worker's
# heartbeat (every 5 s) the EVALSHA, TIME, ZREMRANGEBYSCORE, ZADD, PTTL and PEXPIRE.
HEARTBEAT = "script(heartbeats)"
IDLE = {"claim-script": 3, HEARTBEAT: 6}
# A new pooled connection's handshake (HELLO, CLIENT SETINFO, SELECT): not per-event work.
SETUP = {"HELLO", "CLIENT", "SELECT", "AUTH"}
_NOT_COUNTED = ("cmdstat_info", "cmdstat_hello", "cmdstat_select", "cmdstat_auth")


def is_setup(trip: RoundTrip) -> bool:
    return bool(trip.commands) and all(n in SETUP for n in trip.names())


class _Counter:
    """Round trips (through the proxy) and commands (commandstats) over one step."""

    def __init__(self, proxy: CountingProxy, info: aioredis.Redis) -> None:
        self.proxy = proxy
        self.info = info
        self.mark = 0
        self.calls = 0

    async def _calls(self) -> int:
        stats = await self.info.info("commandstats")
        return sum(
            int(v["calls"])
            for k, v in stats.items()
            if k not in _NOT_COUNTED and not k.startswith("cmdstat_client")
        )

    async def start(self) -> None:
        self.mark = self.proxy.mark()
        self.calls = await self._calls()

    async def stop(self) -> tuple[list[RoundTrip], int]:
        """(the step's round trips without the idle loop's, its commands likewise)."""
        trips = self.proxy.since(self.mark)
        calls = await self._calls() - self.calls
        busy = [t for t in trips if kind(t) not in IDLE and not is_setup(t)]
        idle_cmds = sum(IDLE.get(kind(t), 0) for t in trips)
        return busy, calls - idle_cmds


async def _quiet(proxy: CountingProxy, app: procs.App, limit_s: float = 20.0) -> None:
    """No round trip but the idle loop's for 0.4 s, and the app's CPU clock still."""

    async def check() -> bool:
        mark, cpu = proxy.mark(), app.cpu()
        await asyncio.sleep(0.4)
        busy = [t for t in proxy.since(mark) if kind(t) not in IDLE]
        return not busy and app.cpu() - cpu < 0.03

    await wait_until(check, limit_s, interval=0.0)


def _breakdown(trips: Sequence[RoundTrip], per: int, top: int = 8) -> str:
    counts = Counter(kind(t) for t in trips)
    parts = [f"{k} {v / per:.2f}" for k, v in counts.most_common(top)]
    rest = sum(v for _, v in counts.most_common()[top:])
    if rest:
        parts.append(f"other {rest / per:.2f}")
    return ", ".join(parts)


async def _events_step(
    name: str,
    bodies: list[bytes],
    app: procs.App,
    proxy: CountingProxy,
    counter: _Counter,
    http: httpx.AsyncClient,
    out: list[Figure],
    retry: bool = False,
) -> None:
    url = f"{app.info['url']}/slack/events"
    requests = [(b, signed(b, retry_num=1 if retry else None)) for b in bodies]
    await counter.start()
    await fire(http, url, requests, 4)
    await _quiet(proxy, app)
    trips, cmds = await counter.stop()
    n = len(bodies)
    rt = len(trips) / n
    emit(
        Figure(
            f"redis round trips per event: {name}",
            fmt(rt, 2),
            f"(commands {cmds / n:.1f})",
            f"<= {TARGET_RT:.0f}",
            rt <= TARGET_RT,
            detail=f"per event: {_breakdown(trips, n)}",
        ),
        out,
    )


async def _seed_idle_threads(
    n: int, fakes: Fakes, redis_url: str, http: httpx.AsyncClient
) -> list[tuple[str, str]]:
    """Threads whose agent's last run is over, as a delivered run leaves them."""
    origami = fakes.origami.info
    stores = connect(redis_url)
    threads: list[tuple[str, str]] = []
    runs: list[str] = []
    try:
        for i in range(n):
            channel, thread_ts = f"C0IDLE{i % 10}", new_ts()
            created = await http.post(
                f"{origami['url']}/agents",
                json={"prompt": "find leads", "name": f"idle {i}"},
                headers={
                    "Authorization": f"Bearer {origami['api_key']}",
                    "Idempotency-Key": f"bench-idle:{i}:{thread_ts}",
                },
            )
            body = created.json()
            runs.append(body["run"]["id"])
            record = RunRecord(
                team=TEAM,
                run_id=body["run"]["id"],
                agent_id=body["agent"]["id"],
                channel=channel,
                thread_ts=thread_ts,
                progress_ts="",
                user_id="U0BENCH",
                prompt="find leads",
            )
            # Watched (the agent bound), then released as a delivered run leaves it; its
            # schedule entry is due long after the bench is over.
            await stores.runs.watch(
                record, kept_prompt_of(record), new_agent=True, first_poll_s=86_400
            )
            await stores.threads.release(record.thread, Busy(BusyKind.RUN, record.run_id))
            threads.append((channel, thread_ts))
        await fakes.finish(runs)
    finally:
        await stores.close()
    return threads


def _proxy_for(redis_url: str) -> CountingProxy:
    parsed = urlparse(redis_url)
    return CountingProxy(parsed.hostname or "127.0.0.1", parsed.port or 6379)


@contextlib.asynccontextmanager
async def _counted_app(
    redis_url: str, http: httpx.AsyncClient, first_poll_s: str, layout: str
) -> AsyncIterator[tuple[procs.App, Fakes, CountingProxy, _Counter]]:
    """The app (``layout``) with both fakes, all its processes reaching Redis through a
    counting proxy."""
    await flush(redis_url)
    proxy = _proxy_for(redis_url)
    await proxy.start()
    info = aioredis.Redis.from_url(redis_url)
    db = redis_url.rsplit("/", 1)[-1]
    try:
        async with app_with_fakes(
            f"redis://127.0.0.1:{proxy.port}/{db}",
            http,
            ["--retry-after", "1", "--polls", "10"],
            layout=layout,
            ORIGAMI_FIRST_POLL_SECONDS=first_poll_s,
            ORIGAMI_REQUESTS_PER_MINUTE="1000000",
        ) as (app, fakes):
            yield app, fakes, proxy, _Counter(proxy, info)
    finally:
        await proxy.stop()
        await info.aclose()


async def _app_a(
    config: RoundTripConfig,
    redis_url: str,
    http: httpx.AsyncClient,
    out: list[Figure],
    layout: str,
) -> None:
    n = config.events
    async with _counted_app(redis_url, http, "60", layout) as (app, fakes, proxy, counter):
        url = f"{app.info['url']}/slack/events"
        warm = [mention_body("C0WARM") for _ in range(24)]
        await fire(http, url, [(b, signed(b)) for b in warm], 4)
        await _quiet(proxy, app)
        mark, t0 = proxy.mark(), time.monotonic()
        await asyncio.sleep(2.0)
        idle_rate = (proxy.mark() - mark) / (time.monotonic() - t0)
        emit(Figure("redis round trips while idle", fmt(idle_rate, 1), "per s (watcher loop)"), out)

        mentions = [mention_body(f"C0RT{i % 10}") for i in range(n)]
        await _events_step("mention, new thread", mentions, app, proxy, counter, http, out)
        busy = [reply_body(*thread_of(b)) for b in mentions]
        await _events_step("reply, run going (queued)", busy, app, proxy, counter, http, out)
        idle_threads = await _seed_idle_threads(n, fakes, redis_url, http)
        idle = [reply_body(ch, ts) for ch, ts in idle_threads]
        await _events_step(
            "reply, agent idle (follow-up run)", idle, app, proxy, counter, http, out
        )
        unknown = [reply_body("C0RTX", new_ts()) for _ in range(n)]
        await _events_step(
            "reply, unknown thread (ignored)", unknown, app, proxy, counter, http, out
        )
        await _events_step(
            "slack retry of a mention (duplicate)", mentions, app, proxy, counter, http, out, True
        )


async def _app_b(
    config: RoundTripConfig,
    redis_url: str,
    http: httpx.AsyncClient,
    out: list[Figure],
    layout: str,
) -> None:
    s = config.conversations
    async with _counted_app(redis_url, http, "1", layout) as (app, fakes, proxy, counter):
        url = f"{app.info['url']}/slack/events"
        warm = [mention_body("C0WARM") for _ in range(4)]
        await fire(http, url, [(b, signed(b)) for b in warm], 4)

        async def warm_done() -> bool:
            _, calls = await fakes.slack_calls()
            return sum(1 for c in calls if c[5] == "origami_result") >= len(warm)

        await wait_until(warm_done, 30)
        await _quiet(proxy, app)
        o_mark, _ = await fakes.origami_requests(10**9)
        s_mark, _ = await fakes.slack_calls(10**9)
        await counter.start()
        mentions = [mention_body(f"C0CONV{i % 10}") for i in range(s)]
        await fire(http, url, [(b, signed(b)) for b in mentions], 4)

        async def delivered() -> bool:
            _, calls = await fakes.slack_calls(s_mark)
            return sum(1 for c in calls if c[5] == "origami_result") >= s

        await wait_until(delivered, 60, interval=0.25)
        await _quiet(proxy, app)
        raw = proxy.since(counter.mark)
        trips, cmds = await counter.stop()
        _, requests = await fakes.origami_requests(o_mark)

    per_agent: Counter[str] = Counter()
    gets: dict[str, list[float]] = {}
    terminal: list[float] = []
    previews = 0
    for method, path, at, status, retry_after in requests:
        parts = path.split("/")
        if method == "POST" and path == "/agents":
            per_agent["new"] += 1
            continue
        if len(parts) >= 3:
            per_agent[parts[2]] += 1
        if method == "GET" and len(parts) == 5 and parts[3] == "runs":
            gets.setdefault(parts[4], []).append(at)
            if status == 200 and retry_after is None:
                terminal.append(at)
        if method == "GET" and len(parts) == 4 and parts[1] == "tables" and parts[3] == "rows":
            previews += 1
    total_requests = len(requests)
    emit(
        Figure(
            "origami requests per conversation",
            fmt(total_requests / s, 2),
            f"(1 POST /agents + {sum(len(v) for v in gets.values()) / s:.2f} polls + "
            f"{previews / s:.2f} preview reads; 10 running polls + the one that sees it "
            "done + one read of the result table's rows; ideal 13)",
        ),
        out,
    )
    emit(
        Figure(
            "redis round trips per conversation",
            fmt(len(trips) / s, 1),
            f"(commands {cmds / s:.1f}; mention + 11 polls + result, idle loop excluded)",
        ),
        out,
    )
    # Steady window: every run between its second poll and its last running poll. Here
    # the claims and looks at the next due time are the watcher's work, so they count.
    start = max(sorted(v)[1] for v in gets.values())
    end = min(terminal) - 0.05
    window = [t for t in raw if start <= t.at <= end and not is_setup(t) and kind(t) != HEARTBEAT]
    polls_in = sum(1 for v in gets.values() for at in v if start <= at <= end)
    if polls_in and end > start:
        rt = len(window) / polls_in
        emit(
            Figure(
                "redis round trips per poll",
                fmt(rt, 2),
                f"({polls_in} polls in {end - start:.1f} s)",
                f"<= {TARGET_RT:.0f}",
                rt <= TARGET_RT,
                detail=f"per poll: {_breakdown(window, polls_in)}",
            ),
            out,
        )
    else:
        emit(Figure("redis round trips per poll", "n/a", "(no steady window)", "<= 3", False), out)


async def run(
    config: RoundTripConfig,
    redis_url: str,
    http: httpx.AsyncClient,
    out: list[Figure],
    layout: str = "split",
) -> None:
    """Round trips are the same in either layout (one path for every prompt), so one is
    measured; the figures' names do not say which."""
    await _app_a(config, redis_url, http, out, layout)
    await _app_b(config, redis_url, http, out, layout)
