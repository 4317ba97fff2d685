"""Many workspaces (issue 13, item 6): each organisation's request budget, and whether
one busy organisation slows the others' polls down.

For each worker count: fresh fakes (own processes; the fake Origami keeps a rate window
per organisation and answers 429 past it), a fresh PostgreSQL database, Redis flushed,
and the app in many-workspace mode (``python -m bot web`` and N ``python -m bot worker``,
no SLACK_BOT_TOKEN). ``workspaces`` workspaces are installed (slack_sdk's installation
store, as Add to Slack leaves it) and each connects an Origami key of an organisation of
its own (the key table, as App Home leaves it); one more, the noisy one, has
``noisy_runs`` runs in flight beside the others' ``runs_each``. Runs are put in flight as
the capacity step does (``POST /agents`` on the fake, the "On it" message as the
workspace's bot, ``RunStore.watch``), each POST taking its slot of its organisation's
budget as the app's would. Runs keep running for the whole step.

Time runs ``SCALE`` times faster than Origami's: ``Retry-After`` is 1 s, not 15 s, and so
that the budget binds as it would, both the fake's limit (100 a minute) and the app's
``ORIGAMI_REQUESTS_PER_MINUTE`` (90) are scaled by the same factor. Five runs then want
a quarter of their organisation's polls' share, the noisy organisation's fifty two and a
half times it, as at Origami's pace.

Measured from the fake Origami's records: per organisation, the most requests in any 60 s
(against its budget), every 429, and the delay of each poll past its ``Retry-After`` (the
gap between a run's polls, less 1 s); its p95, and the worst-to-best ratio of those p95s
over the quiet organisations, with the noisy one's beside them. From ``/proc``: the
workers' CPU over the step and peak RSS. From Redis: ``MEMORY USAGE`` of every key, per
conversation, per run in flight and per organisation.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import asyncpg
import httpx
import redis.asyncio as aioredis
from cryptography.fernet import Fernet
from slack_sdk.oauth.installation_store import Installation

from bench import procs
from bench.common import Fakes, Figure, emit, flush, fmt, kept_prompt_of, percentile
from bot.domain import RunRecord
from bot.origami.client import Priority
from bot.slack.blocks import build_ack
from bot.stores import connect
from bot.stores.budget import BudgetRule, now_ms
from bot.tenancy.database import open_database
from bot.tenancy.origami_keys import Connection
from bot.tenancy.secrets import SecretBox
from tests.fakes.payloads import USER_ID, new_ts

SCALE = 15
RETRY_AFTER_S = 1.0
PER_MINUTE = 90 * SCALE  # the app's share, per organisation
ORIGAMI_LIMIT = 100 * SCALE  # the fake's limit, per organisation
RULE = BudgetRule.of(PER_MINUTE)
POSTGRES = "postgresql://postgres@127.0.0.1:5432"
CLIENT_ID = "1.2"
NOISY = "T0NOISY"


@dataclass(frozen=True)
class TenantsConfig:
    workspaces: int = 200
    runs_each: int = 5
    noisy_runs: int = 50
    seconds: float = 65.0  # measured, after the first polls
    workers: tuple[int, ...] = (1, 2)


FULL = TenantsConfig()
QUICK = TenantsConfig(workspaces=50, seconds=30.0, workers=(1,))


@dataclass
class Tenant:
    team: str
    bot_token: str
    api_key: str
    org: str
    runs: int


@dataclass
class StepResult:
    workers: int
    busiest_quiet: int  # most requests in 60 s, of any quiet organisation
    busiest_noisy: int
    rate_limited: int  # 429s from the fake, all organisations
    quiet_p95s: list[float]  # per quiet organisation (ms)
    noisy_p95: float
    quiet_polls: int
    noisy_polls: int
    cpu_s: float  # the workers together
    web_cpu_s: float
    wall_s: float
    rss_mb: list[float]  # each worker's peak
    memory: dict[str, float]  # bytes: per conversation, per run in flight, per organisation
    memory_detail: str


@asynccontextmanager
async def _database() -> AsyncIterator[str]:
    """A PostgreSQL database of its own (the production choice), dropped after."""
    name = f"ogs_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(f"{POSTGRES}/test")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield f"{POSTGRES}/{name}"
    finally:
        admin = await asyncpg.connect(f"{POSTGRES}/test")
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def _tenants(
    config: TenantsConfig, fakes: Fakes, http: httpx.AsyncClient, url: str, secret: str
) -> list[Tenant]:
    """Install every workspace and connect its key, as Add to Slack and App Home do."""
    teams = [f"T0W{i:04d}" for i in range(config.workspaces)]
    runs = [config.runs_each] * len(teams)
    if config.noisy_runs:
        teams.append(NOISY)
        runs.append(config.noisy_runs)
    slack = fakes.slack.info["control_url"]
    bots = (await http.post(f"{slack}/teams", json={"team_ids": teams})).json()
    origami = fakes.origami.info["control_url"]
    orgs = (await http.post(f"{origami}/orgs", json={"count": len(teams)})).json()
    async_url = url.replace("postgresql:", "postgresql+asyncpg:", 1)
    db = open_database(async_url, client_id=CLIENT_ID, box=SecretBox(secret))
    try:
        await db.create_tables()
        for bot, org in zip(bots, orgs, strict=True):
            await db.installations.async_save(
                Installation(
                    app_id="A0BENCH",
                    team_id=bot["team_id"],
                    bot_token=bot["bot_token"],
                    bot_id=bot["bot_id"],
                    bot_user_id=bot["bot_user_id"],
                    user_id=USER_ID,
                )
            )
            key = org["api_key"]
            connection = Connection(
                bot["team_id"], key[-4:], org["org_id"], "Bench", "Pro", USER_ID, datetime.now(UTC)
            )
            await db.origami_keys.save(connection, key)
    finally:
        await db.aclose()
    return [
        Tenant(bot["team_id"], bot["bot_token"], org["api_key"], org["org_id"], n)
        for bot, org, n in zip(bots, orgs, runs, strict=True)
    ]


async def _seed(
    tenants: list[Tenant], fakes: Fakes, redis_url: str, http: httpx.AsyncClient
) -> None:
    """Every tenant's runs in flight, as the app leaves them once Origami took a prompt."""
    origami, slack = fakes.origami.info, fakes.slack.info
    ack = build_ack()
    limit = asyncio.Semaphore(32)
    stores = connect(redis_url)
    budgets = stores.organization_budgets(RULE)

    async def one(tenant: Tenant, i: int) -> RunRecord:
        async with limit:
            # The POST's slot of its organisation's budget, as the sender takes it.
            await budgets.gate(tenant.org).acquire(Priority.USER)
            thread_ts = new_ts()
            created = await http.post(
                f"{origami['url']}/agents",
                json={"prompt": f"find leads, batch {i}", "name": f"bench {i}"},
                headers={
                    "Authorization": f"Bearer {tenant.api_key}",
                    "Idempotency-Key": f"bench:{tenant.team}:{i}",
                },
            )
            created.raise_for_status()
            body = created.json()
            channel = f"C0TEN{i % 5}"
            posted = await http.post(
                f"{slack['url']}chat.postMessage",
                json={"channel": channel, "thread_ts": thread_ts, "text": ack.text},
                headers={"Authorization": f"Bearer {tenant.bot_token}"},
            )
            return RunRecord(
                team=tenant.team,
                run_id=body["run"]["id"],
                agent_id=body["agent"]["id"],
                channel=channel,
                thread_ts=thread_ts,
                progress_ts=str(posted.json()["ts"]),
                user_id=USER_ID,
                prompt=f"find leads, batch {i}",
            )

    try:
        for tenant in tenants:
            # What a process writes when it opens the workspace's key to send its prompt.
            await budgets.remember(tenant.team, tenant.org)
        work = [one(t, i) for t in tenants for i in range(t.runs)]
        records = await asyncio.gather(*work)
        rng = random.Random(len(records))
        start_ms = now_ms() + 1000
        for r in records:
            due_in = (start_ms - now_ms()) / 1000 + rng.uniform(0, RETRY_AFTER_S)
            await stores.runs.watch(r, kept_prompt_of(r), new_agent=True, first_poll_s=due_in)
    finally:
        await stores.close()


def _busiest_minute(times: list[float]) -> int:
    """The most of ``times`` (sorted, s) within any 60 s."""
    most, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= 60:
            first += 1
        most = max(most, last - first + 1)
    return most


@dataclass
class _PerOrg:
    times: list[float]  # every request's arrival
    delays: list[float]  # every poll's delay past Retry-After (ms)
    rate_limited: int


def _per_org(items: list[list[Any]]) -> dict[str, _PerOrg]:
    """From the fake's records ([method, path, time, status, Retry-After, org])."""
    times: dict[str, list[float]] = defaultdict(list)
    polls: dict[tuple[str, str], list[float]] = defaultdict(list)
    limited: dict[str, int] = defaultdict(int)
    for method, path, at, status, _retry_after, org in items:
        if org is None:
            continue
        times[org].append(at)
        if status == 429:
            limited[org] += 1
        parts = path.split("/")
        if method == "GET" and len(parts) == 5 and parts[3] == "runs":
            polls[(org, parts[4])].append(at)
    delays: dict[str, list[float]] = defaultdict(list)
    for (org, _run), seen in polls.items():
        seen.sort()
        delays[org] += [(b - a - RETRY_AFTER_S) * 1000 for a, b in itertools.pairwise(seen)]
    return {org: _PerOrg(sorted(t), delays[org], limited[org]) for org, t in times.items()}


# Redis keys the app shares between workspaces (the rest are ``ogs:<team>:<kind>:…``).
_RUN_KINDS = ("run",)


async def _memory(redis_url: str, tenants: list[Tenant]) -> tuple[dict[str, float], str]:
    """``MEMORY USAGE`` (every element sampled) of every key, grouped: a conversation's own
    keys, a run in flight's (its record and its schedule entry's share), an
    organisation's (its budget window and its line of the workspace -> window hash)."""
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    teams = {t.team for t in tenants}
    try:
        names = [k async for k in client.scan_iter(match="ogs:*", count=1000)]
        async with client.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.memory_usage(name, samples=0)
            sizes = await pipe.execute()
        due = int(await client.zcard("ogs:watch:due"))
    finally:
        await client.aclose()
    by_kind: dict[str, int] = defaultdict(int)
    for name, size in zip(names, sizes, strict=True):
        parts = name.split(":")
        kind = parts[2] if len(parts) > 2 and parts[1] in teams else ":".join(parts[1:3])
        by_kind[kind] += int(size or 0)
    conversations = sum(t.runs for t in tenants)
    run_bytes = sum(by_kind[k] for k in _RUN_KINDS) + by_kind["watch:due"]
    conversation_bytes = sum(
        size for kind, size in by_kind.items() if ":" not in kind and kind not in _RUN_KINDS
    )
    org_bytes = by_kind["origami:budget"]
    detail = ", ".join(f"{kind} {size / 1024:.0f} KiB" for kind, size in sorted(by_kind.items()))
    return {
        "conversation": conversation_bytes / conversations,
        "run": run_bytes / max(1, due),
        "organisation": org_bytes / len(tenants),
    }, detail


async def measure(
    config: TenantsConfig, workers: int, redis_url: str, http: httpx.AsyncClient
) -> StepResult:
    await flush(redis_url)
    secret = Fernet.generate_key().decode()
    slack = await procs.start_fake("slack")
    origami = await procs.start_fake(
        "origami", "--retry-after", str(int(RETRY_AFTER_S)), "--rate-limit", str(ORIGAMI_LIMIT)
    )
    fakes = Fakes(slack, origami, http)
    app: procs.App | None = None
    try:
        await fakes.script(None)  # runs keep running
        async with _database() as url:
            tenants = await _tenants(config, fakes, http, url, secret)
            try:
                settings = {
                    "SLACK_BOT_TOKEN": "",
                    "ORIGAMI_API_KEY": "",
                    "SLACK_CLIENT_ID": CLIENT_ID,
                    "SLACK_CLIENT_SECRET": "bench-client-secret",
                    "SECRETS_KEY": secret,
                    "DATABASE_URL": url,
                    "ORIGAMI_REQUESTS_PER_MINUTE": str(PER_MINUTE),
                }
                # (All str: cast only for the start's other, int, parameters.)
                app = await procs.start_app(
                    slack, origami, redis_url, http, **cast(dict[str, Any], settings)
                )
                await procs.start_more_workers(
                    app, slack, origami, redis_url, workers - 1, **settings
                )
                await _seed(tenants, fakes, redis_url, http)
                await asyncio.sleep(1 + 2 * RETRY_AFTER_S)  # every run polled once or twice
                o_start, _ = await fakes.origami_requests(10**9)
                cpu0 = {p.name: p.cpu() for p in app.procs}
                t0 = time.monotonic()
                await asyncio.sleep(config.seconds)
                wall = time.monotonic() - t0
                cpu = {p.name: p.cpu() - cpu0[p.name] for p in app.procs}
                rss = [w.peak_rss_mb() for w in app.workers]
                memory, detail = await _memory(redis_url, tenants)
                items = await _origami_requests(fakes, http)
            finally:
                if app is not None:
                    app.stop()
    finally:
        fakes.stop()
    measured = _per_org(items[o_start:])
    whole = _per_org(items)
    noisy = next((t.org for t in tenants if t.team == NOISY), None)
    quiet = [t.org for t in tenants if t.org != noisy]
    empty = _PerOrg([], [], 0)
    return StepResult(
        workers=workers,
        busiest_quiet=max(_busiest_minute(whole.get(o, empty).times) for o in quiet),
        busiest_noisy=_busiest_minute(whole[noisy].times) if noisy else 0,
        rate_limited=sum(p.rate_limited for p in whole.values()),
        quiet_p95s=[percentile(measured.get(o, empty).delays, 95) for o in quiet],
        noisy_p95=percentile(measured[noisy].delays, 95) if noisy else float("nan"),
        quiet_polls=sum(len(measured.get(o, empty).delays) for o in quiet),
        noisy_polls=len(measured[noisy].delays) if noisy else 0,
        cpu_s=sum(cpu[w.name] for w in app.workers) if app else 0.0,
        web_cpu_s=cpu[app.web.name] if app else 0.0,
        wall_s=wall,
        rss_mb=rss,
        memory=memory,
        memory_detail=detail,
    )


async def _origami_requests(fakes: Fakes, http: httpx.AsyncClient) -> list[list[Any]]:
    """Every request the fake Origami answered, with its key's organisation."""
    r = await http.get(
        f"{fakes.origami.info['control_url']}/requests", params={"since": 0, "org": "1"}
    )
    return list(r.json()["items"])


async def run(
    config: TenantsConfig, redis_url: str, http: httpx.AsyncClient, out: list[Figure]
) -> list[StepResult]:
    results = []
    for workers in config.workers:
        r = await measure(config, workers, redis_url, http)
        results.append(r)
        noisy = f" + 1 with {config.noisy_runs}" if config.noisy_runs else ""
        tag = (
            f"[{config.workspaces} orgs x {config.runs_each} runs{noisy}, "
            f"{workers} worker{'s' if workers > 1 else ''}]"
        )
        budget = f"of {PER_MINUTE} ({ORIGAMI_LIMIT} Origami's, both x{SCALE})"
        emit(
            Figure(
                f"tenants: busiest minute of a quiet organisation {tag}",
                str(r.busiest_quiet),
                f"requests {budget}",
                f"<= {PER_MINUTE}",
                r.busiest_quiet <= PER_MINUTE,
            ),
            out,
        )
        if config.noisy_runs:
            emit(
                Figure(
                    f"tenants: busiest minute of the noisy organisation {tag}",
                    str(r.busiest_noisy),
                    f"requests {budget}; its runs want {config.noisy_runs * 60} a minute",
                    f"<= {PER_MINUTE}",
                    r.busiest_noisy <= PER_MINUTE,
                ),
                out,
            )
        emit(Figure(f"tenants: 429s {tag}", str(r.rate_limited), "", "0", r.rate_limited == 0), out)
        p95s = sorted(v for v in r.quiet_p95s if v == v)  # NaN: an organisation never polled
        best, worst = (p95s[0], p95s[-1]) if p95s else (float("nan"), float("nan"))
        emit(
            Figure(
                f"tenants: quiet organisations' poll delay p95, best / median / worst {tag}",
                f"{fmt(best)} / {fmt(percentile(p95s, 50))} / {fmt(worst)}",
                f"ms ({len(p95s)} organisations, {r.quiet_polls} polls)",
            ),
            out,
        )
        ratio = worst / best if p95s and best > 0 else float("nan")
        emit(
            Figure(
                f"tenants: quiet organisations' p95 worst / best {tag}",
                fmt(ratio, 2),
                "x",
            ),
            out,
        )
        if config.noisy_runs:
            emit(
                Figure(
                    f"tenants: noisy organisation's poll delay p95 {tag}",
                    fmt(r.noisy_p95),
                    f"ms ({r.noisy_polls} polls: held to its own budget), beside the quiet "
                    f"ones' worst {fmt(worst)} ms",
                ),
                out,
            )
        rss = " / ".join(fmt(m) for m in r.rss_mb)
        emit(
            Figure(
                f"tenants: workers' CPU / peak RSS {tag}",
                f"{fmt(r.cpu_s, 1)} s ({100 * r.cpu_s / r.wall_s:.0f}% of a core) / {rss}",
                f"MB over {r.wall_s:.0f} s (web process {fmt(r.web_cpu_s, 1)} s CPU)",
            ),
            out,
        )
        m = r.memory
        emit(
            Figure(
                f"tenants: Redis memory per conversation / run in flight / organisation {tag}",
                f"{m['conversation']:.0f} / {m['run']:.0f} / {m['organisation']:.0f}",
                "bytes (MEMORY USAGE)",
                detail=r.memory_detail,
            ),
            out,
        )
    return results
