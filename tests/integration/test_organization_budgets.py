"""Many workspaces: one Origami request budget per organisation, on a real Redis, the
installations' database (SQLite) and the fake Origami, which keeps a rate window per
organisation and answers 429 past it.

Each organisation's window holds under load (no 429, no window over), a noisy
organisation does not hold another's polls back (its polls over budget are rescheduled
to when its window frees), and the claim finds every workspace's organisation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.assembly import Core, assemble
from bot.config import load_settings
from bot.domain import KeptPrompt, Prompt, PromptKind, ThreadRef
from bot.origami.client import OrigamiClient, build_http_client
from bot.sending import SendConfig
from bot.stores import Stores, codec, keys
from bot.stores.budget import BudgetRule
from bot.stores.schedule import run_entry
from bot.tenancy.database import Database, open_database
from bot.tenancy.origami import WorkspaceKeys
from bot.tenancy.origami_keys import Connection
from bot.tenancy.secrets import SecretBox
from bot.watcher import WatcherConfig
from tests.conftest import RedisTarget
from tests.fakes.agent_surface import RecordingAgentSurface
from tests.fakes.origami import FakeOrigami, RunScript
from tests.fakes.presenter import RecordingPresenter

SECRET = Fernet.generate_key().decode()
# Origami's limit, scaled down so a test fills it in moments: each organisation's window.
PER_MINUTE = 20
RULE = BudgetRule.of(PER_MINUTE)


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    url = load_settings(
        _env_file=None,
        SLACK_CLIENT_ID="1.2",
        SLACK_CLIENT_SECRET="s",
        SECRETS_KEY=SECRET,
        SLACK_SIGNING_SECRET="x",
        DATABASE_URL=f"sqlite:///{tmp_path / 'installations.db'}",
    ).database_url.get_secret_value()
    db = open_database(url, client_id="1.2", box=SecretBox(SECRET))
    await db.create_tables()
    try:
        yield db
    finally:
        await db.aclose()


async def connect(database: Database, fake: FakeOrigami, team: str, api_key: str) -> None:
    """``team`` connected ``api_key`` in App Home (its organisation as Origami says)."""
    connection = Connection(
        team, api_key[-4:], fake.org_of(api_key), "Org", "Pro", "U1", datetime.now(UTC)
    )
    await database.origami_keys.save(connection, api_key)


class Process:
    """One worker process of a many-workspace deployment: its own Redis connection, key
    lookup and watcher, wired as ``bot.assembly.build`` wires them."""

    def __init__(self, stores: Stores, database: Database, fake: FakeOrigami) -> None:
        self.stores = stores
        self.shared = OrigamiClient(build_http_client(fake.url, None))
        budgets = stores.organization_budgets(RULE)
        self.keys = WorkspaceKeys(
            self.shared, database.origami_keys, gate_for=budgets.gate, opened=budgets.remember
        )
        self.presenter = RecordingPresenter()
        self.core: Core = assemble(
            stores,
            self.keys,
            self.presenter,
            SendConfig(first_poll_s=0.01),
            WatcherConfig(idle_s=0.01, error_backoff_s=0.05),
            RULE,
            surface=RecordingAgentSurface(),
            per_organization=True,
        )

    async def start(self, thread: ThreadRef, cause: str) -> None:
        prompt = Prompt("find founders in Berlin", "U1", cause)
        await self.core.conversations.intake.take(thread, prompt, may_start=True)

    def results(self, team: str) -> int:
        return sum(1 for s in self.presenter.of("result") if s.thread.team == team)

    async def aclose(self) -> None:
        await self.shared.aclose()


async def drive(process: Process, done: Callable[[], bool], limit_s: float = 15.0) -> None:
    deadline = time.monotonic() + limit_s
    while not done():
        assert time.monotonic() < deadline, "not done in time"
        if await process.core.watcher.tick() == 0:
            await asyncio.sleep(0.01)


def requests_of(fake: FakeOrigami, api_key: str) -> list[Any]:
    org = fake.org_of(api_key)
    return [r for r in fake.requests() if r.org == org]


async def test_each_organisations_budget_holds_under_load(
    stores: Stores, database: Database, redis_target: RedisTarget
) -> None:
    """Three organisations (one with two workspaces), each with more runs than its budget
    has room to poll, watched by two worker processes at once: every organisation uses
    its own window up to the polls' share and not one request past it."""
    if redis_target.url is None:
        pytest.skip("needs a real Redis shared between processes")
    import redis.asyncio as aredis

    other = Stores.on(aredis.Redis.from_url(redis_target.url, decode_responses=True))
    async with FakeOrigami(retry_after="0.05", rate_limit_per_minute=PER_MINUTE) as fake:
        # Runs that keep running: polled as often as each budget allows.
        fake.default_script = RunScript(polls=None)
        org_keys = [fake.api_key, fake.add_org("B"), fake.add_org("C")]
        teams = {"T0A1": org_keys[0], "T0A2": org_keys[0], "T0B": org_keys[1], "T0C": org_keys[2]}
        for team, api_key in teams.items():
            await connect(database, fake, team, api_key)
        one, two = Process(stores, database, fake), Process(other, database, fake)
        try:
            for team in teams:
                for n in range(3):
                    await one.start(ThreadRef(team, "C1", f"1.{n}"), f"C1:1.{n}")
            watchers = [asyncio.create_task(p.core.watcher.run_forever()) for p in (one, two)]
            try:
                # Until every organisation has used its polls' share (POSTs count in it).
                await fake.wait_for(
                    lambda: all(len(requests_of(fake, k)) >= RULE.poll_limit for k in org_keys),
                    timeout=20,
                )
                # Both watchers go on claiming for a while with every window full.
                polls_before = sum(p.core.watcher.work.polls for p in (one, two))
                await asyncio.sleep(0.5)
            finally:
                for p in (one, two):
                    p.core.watcher.stop()
                await asyncio.gather(*watchers)
            assert sum(p.core.watcher.work.polls for p in (one, two)) == polls_before
        finally:
            await one.aclose()
            await two.aclose()
            await other.close()
    assert [r for r in fake.requests() if r.status == 429] == []
    for api_key in org_keys:
        # All within the minute: each organisation used its own window's polls' share
        # (its POSTs included; org A's two workspaces share one), and not a request more.
        sent = requests_of(fake, api_key)
        assert len(sent) == RULE.poll_limit, (api_key[-4:], len(sent))
        window = keys.organization_budget(fake.org_of(api_key))
        assert await stores._client.zcard(window) == len(sent)
    assert await stores._client.zcard(keys.origami_budget()) == 0


async def test_a_noisy_organisation_does_not_hold_back_anothers_polls(
    stores: Stores, database: Database
) -> None:
    """A noisy organisation fills its budget with runs that keep running; a quiet one's
    runs, due after the noisy ones, are still polled to their end: the noisy polls over
    budget were moved to when their window frees, not left in front."""
    async with FakeOrigami(retry_after="0.05", rate_limit_per_minute=PER_MINUTE) as fake:
        fake.default_script = RunScript(polls=None)
        noisy_key, quiet_key = fake.api_key, fake.add_org("Quiet")
        await connect(database, fake, "T0NOISY", noisy_key)
        await connect(database, fake, "T0QUIET", quiet_key)
        p = Process(stores, database, fake)
        try:
            for n in range(12):
                await p.start(ThreadRef("T0NOISY", "C1", f"1.{n}"), f"C1:1.{n}")
            await drive(p, lambda: len(fake.runs) == 12)
            # Its runs poll until the budget has no room for them.
            await drive(p, lambda: len(requests_of(fake, noisy_key)) >= RULE.poll_limit)
            fake.script(RunScript(polls=3), RunScript(polls=3))
            for n in range(2):
                await p.start(ThreadRef("T0QUIET", "C1", f"1.{n}"), f"C1:1.{n}")
            await drive(p, lambda: p.results("T0QUIET") == 2)
            deferred = p.core.watcher.work.metrics.registry.get_sample_value(
                "origami_slack_origami_polls_deferred_total"
            )
        finally:
            await p.aclose()
    assert [r for r in fake.requests() if r.status == 429] == []
    # The quiet runs: created, three running polls each and the last; their tables read.
    assert len(requests_of(fake, quiet_key)) <= RULE.poll_limit
    assert len(requests_of(fake, noisy_key)) == RULE.poll_limit
    assert deferred is not None and deferred > 0
    # Every noisy run waits for its window (not due now, while the quiet ones were
    # polled to their end)...
    due = await stores._client.zrange(keys.schedule(), 0, -1, withscores=True)
    noisy = [score for entry, score in due if entry.startswith("r|T0NOISY|")]
    assert len(noisy) == 12
    assert min(noisy) > time.time() * 1000
    # ... and is due no sooner than that window has room for a poll again.
    window = await stores._client.zrange(
        keys.organization_budget(fake.org_of(noisy_key)), 0, -1, withscores=True
    )
    assert len(window) == RULE.poll_limit
    for when in noisy:
        assert sum(1 for _, taken in window if taken > when - 60_000) < RULE.poll_limit


_ids = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=32)
_teams = st.one_of(
    _ids.map(lambda s: "T" + s[:31]),
    _ids.map(lambda s: "E" + s[:31]),
    st.tuples(_ids, _ids).map(lambda t: f"E{t[0][:31]}.{t[1]}"),
)
_run_ids = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="|"),
    min_size=1,
    max_size=64,
)


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(mapped=_teams, unmapped=_teams, run_ids=st.lists(_run_ids, min_size=1, max_size=5))
def test_the_claim_takes_each_workspaces_slots_from_its_organisations_window(
    redis_target: RedisTarget, mapped: str, unmapped: str, run_ids: list[str]
) -> None:
    """Whatever the workspace key (Grid or not) and run id, the claim finds the entry's
    workspace and its organisation's window; a workspace whose key was not opened yet
    has its entries claimed without a slot (their requests' gate takes it)."""
    if mapped == unmapped:
        unmapped = unmapped + "X" if len(unmapped) < 33 else "T0OTHER"
    asyncio.run(_claim_both(redis_target, mapped, unmapped, sorted(set(run_ids))))


async def _claim_both(target: RedisTarget, mapped: str, unmapped: str, run_ids: list[str]) -> None:
    if target.url is None:
        import fakeredis

        client: Any = fakeredis.aioredis.FakeRedis(decode_responses=True)
    else:
        import redis.asyncio as aredis

        client = aredis.Redis.from_url(target.url, decode_responses=True)
    stores = Stores.on(client)
    try:
        await client.flushdb()
        await stores.organization_budgets(RULE).remember(mapped, "org|1:x")
        now = int(time.time() * 1000)
        entries = {run_entry(t, r): now - 1 for t in (mapped, unmapped) for r in run_ids}
        await client.zadd(keys.schedule(), entries)
        batch = await stores.schedule.claim(
            lease_s=30, kept_lease_s=90, limit=100, budget=RULE, per_organization=True
        )
        admitted = {i.claim.entry: i.admitted for i in batch.items}
        assert {i.claim.team for i in batch.items} == {mapped, unmapped}
        assert admitted == {e: e.startswith(f"r|{mapped}|") for e in entries}
        window = keys.organization_budget("org|1:x")
        assert await client.zcard(window) == len(run_ids)
        assert await client.zcard(keys.origami_budget()) == 0
    finally:
        await stores.close()


async def test_two_workspaces_of_one_organisation_have_their_own_idempotency_keys(
    stores: Stores, database: Database
) -> None:
    """Origami keeps Idempotency-Keys per organisation: the same channel id and ts in two
    of its workspaces are two conversations, not one request answered twice."""
    async with FakeOrigami(retry_after="0.05") as fake:
        fake.default_script = RunScript(polls=0)
        for team in ("T0ONE", "T0TWO"):
            await connect(database, fake, team, fake.api_key)
        p = Process(stores, database, fake)
        try:
            for team in ("T0ONE", "T0TWO"):
                await p.start(ThreadRef(team, "C1", "1.0"), "C1:1.0")
            await drive(p, lambda: p.results("T0ONE") == 1 and p.results("T0TWO") == 1)
        finally:
            await p.aclose()
    posts = fake.requests("POST", "/agents")
    assert [r.status for r in posts] == [202, 202] and not any(r.replayed for r in posts)
    assert sorted(r.headers["Idempotency-Key"] for r in posts) == [
        "start:T0ONE:C1:1.0",
        "start:T0TWO:C1:1.0",
    ]
    assert len(fake.agents) == 2


def test_a_prompt_kept_before_keys_carried_the_workspace_keeps_its_key() -> None:
    """Sent again after an upgrade, a prompt whose first try went out under its old key
    (channel and ts only) keeps it, so Origami answers that try instead of starting a
    second agent; a prompt kept now has the workspace in its key."""
    kept = KeptPrompt("p1", "T0ONE", "C1", "1.0", PromptKind.START, "", "hi", "U1", "C1:1.0")
    assert kept.idempotency_key() == "start:T0ONE:C1:1.0"
    stored = codec.dump_kept(kept)
    assert codec.load_kept(stored) == kept
    # What a version before this one wrote: the same fields, without the flag.
    old = {**stored, "prompt": stored["prompt"].replace(', "keyed_by_team": true', "")}
    assert "keyed_by_team" not in old["prompt"]
    loaded = codec.load_kept(old)
    assert loaded is not None and loaded.keyed_by_team is False
    assert loaded.idempotency_key() == "start:C1:1.0"
    assert replace(loaded, attempt=2).idempotency_key() == "start:C1:1.0:attempt-2"


async def test_an_uninstalled_workspace_leaves_no_budget_entry(stores: Stores) -> None:
    budgets = stores.organization_budgets(RULE)
    await budgets.remember("T0GONE", "org-1")
    await budgets.remember("T0STAYS", "org-1")
    await stores.workspaces.forget("T0GONE")
    assert await stores._client.hgetall(keys.budget_of_team()) == {
        "T0STAYS": keys.organization_budget("org-1")
    }
