"""The poller of scheduled runs over real HTTP (fake Origami) and a real Redis: a run is
posted once, even when the process dies between posting its thread and recording it, and
a run whose channel is closed to the app is kept for a later read, not lost."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace

import pytest

from bot.assembly import ScheduleSettings, assemble
from bot.domain import BusyKind, ThreadRef
from bot.origami import scheduled
from bot.origami.client import OrigamiClient, RetryPolicy, build_http_client
from bot.schedules import manage
from bot.schedules.manage import Created, ScheduleForm, Schedules
from bot.schedules.records import ScheduleRecord
from bot.schedules.runs import HORIZON_S, PollerConfig, ScheduledRunPoller
from bot.sending import SendConfig
from bot.stores import Stores, keys
from bot.watcher import WatcherConfig
from tests.fakes.agent_surface import RecordingAgentSurface
from tests.fakes.origami import FakeOrigami, RunScript
from tests.fakes.presenter import RecordingPresenter
from tests.integration.harness import die_on_first_call

TEAM, CHANNEL = "T1", "C1"


@dataclass
class RecordingPosts:
    """``SchedulePosts`` that records the threads it opens (by run), and finds them."""

    opened: dict[str, str] = field(default_factory=dict)  # run id -> ts
    closed: bool = False  # the app may not post in the channel
    confirmed: list[str] = field(default_factory=list)
    searched: list[tuple[str, float, float]] = field(default_factory=list)  # run, since, until
    waiting: list[str] = field(default_factory=list)  # schedules whose maker was told

    async def confirm(self, record: ScheduleRecord) -> bool:
        self.confirmed.append(record.schedule_id)
        return not self.closed

    async def cannot_post(
        self, record: ScheduleRecord, channel: str, thread_ts: str, user: str
    ) -> None:
        return None

    async def runs_waiting(self, record: ScheduleRecord) -> None:
        self.waiting.append(record.schedule_id)

    async def open_run_thread(self, record: ScheduleRecord, run_id: str) -> str | None:
        if self.closed:
            return None
        ts = f"1800000000.{len(self.opened) + 1:06d}"
        self.opened[run_id] = ts
        return ts

    async def find_run_thread(
        self, record: ScheduleRecord, run_id: str, since: float, until: float
    ) -> str:
        self.searched.append((run_id, since, until))
        return self.opened.get(run_id, "")


@dataclass
class Scheduled:
    fake: FakeOrigami
    stores: Stores
    poller: ScheduledRunPoller
    posts: RecordingPosts
    record: ScheduleRecord
    manage: Schedules


@pytest.fixture
async def sched(stores: Stores) -> AsyncIterator[Scheduled]:
    async with FakeOrigami(retry_after="0.2") as fake:
        origami = OrigamiClient(
            build_http_client(fake.url, fake.api_key, timeout=5),
            retry=RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, total_budget=5),
        )
        posts = RecordingPosts()
        core = assemble(
            stores,
            origami,
            RecordingPresenter(),
            SendConfig(first_poll_s=0.05),
            WatcherConfig(lease_s=5, idle_s=0.02),
            surface=RecordingAgentSurface(),
            schedules=ScheduleSettings(
                posts, PollerConfig(pace_s=0.05, lease_s=0.2, first_poll_s=0.05)
            ),
        )
        assert core.schedule_poller is not None
        assert core.conversations.schedules is not None
        made = await origami.create_scheduled_agent(
            "Monday founders", "find founders", "0 9 * * 1", idempotency_key="test:make"
        )
        record = ScheduleRecord(TEAM, made.id, CHANNEL, "U1", made.name, made.cron, "find founders")
        await stores.schedules.add(record, 0)
        try:
            yield Scheduled(
                fake, stores, core.schedule_poller, posts, record, core.conversations.schedules
            )
        finally:
            await origami.aclose()


async def read_until(s: Scheduled, done: Callable[[], object], limit_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + limit_s
    while not done():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("the poller did not get there")
        await s.poller.tick()
        await asyncio.sleep(0.06)  # past the pace: the schedule is due again


async def test_a_run_is_posted_once_when_the_process_dies_before_recording_its_thread(
    sched: Scheduled, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = sched
    s.fake.script(RunScript(polls=1, text="Monday's founders"))
    run = s.fake.schedules.fire(s.record.schedule_id)
    assert run is not None
    # Dies after the thread was posted, before its ts was recorded.
    calls = die_on_first_call(monkeypatch, s.stores.schedules, "opened")
    await s.poller.tick()
    assert calls == [1] and list(s.posts.opened) == [run.id]
    # The lease runs out; the next read finds the thread it posted instead of a second.
    await asyncio.sleep(0.25)
    await read_until(s, lambda: len(calls) == 2)
    assert list(s.posts.opened) == [run.id]
    # Searched within the lease after the intent (and the clocks' skew), one page's worth.
    ((searched, since, until),) = s.posts.searched
    assert searched == run.id and 0 < until - since <= 0.2 + 60 + 1
    thread_ts = s.posts.opened[run.id]
    state = await s.stores.threads.get(ThreadRef(TEAM, CHANNEL, thread_ts))
    assert state is not None and state.agent_id == run.agent_id
    assert state.busy is not None and state.busy.kind is BusyKind.RUN and state.busy.id == run.id
    # Read again and again: nothing more is posted.
    for _ in range(3):
        await asyncio.sleep(0.06)
        await s.poller.tick()
    assert list(s.posts.opened) == [run.id]


async def test_a_run_in_a_closed_channel_is_kept_and_posted_once_the_app_may(
    sched: Scheduled,
) -> None:
    s = sched
    s.posts.closed = True
    s.fake.script(RunScript(polls=1))
    run = s.fake.schedules.fire(s.record.schedule_id)
    assert run is not None
    await s.poller.tick()
    assert s.posts.opened == {}
    assert await s.stores.schedules.done_runs(TEAM, [run.id]) == set()
    # Slack refused the post, so none exists: no intent is left to search the channel for
    # (which Slack would refuse too, at every read).
    assert await s.stores._client.hget(keys.scheduled_run(TEAM, run.id), "intent") is None
    for _ in range(2):
        await asyncio.sleep(0.06)
        await s.poller.tick()
    assert s.posts.searched == []
    # Its maker is told once, not at every read.
    assert s.posts.waiting == [s.record.schedule_id]
    s.posts.closed = False  # invited
    await read_until(s, lambda: run.id in s.posts.opened)
    assert await s.stores.schedules.done_runs(TEAM, [run.id]) == {run.id}
    # Closed again later: said again, once.
    s.posts.closed = True
    s.fake.script(RunScript(polls=1))
    assert s.fake.schedules.fire(s.record.schedule_id) is not None
    await read_until(s, lambda: len(s.posts.waiting) == 2)
    for _ in range(2):
        await asyncio.sleep(0.06)
        await s.poller.tick()
    assert s.posts.waiting == [s.record.schedule_id] * 2


async def test_a_schedule_deleted_in_origami_is_forgotten(sched: Scheduled) -> None:
    s = sched
    s.fake.schedules.items[s.record.schedule_id].deleted = True
    await read_until(
        s, lambda: s.fake.requests("GET", f"/scheduled-agents/{s.record.schedule_id}/runs")
    )
    assert await s.stores.schedules.get(TEAM, s.record.schedule_id) is None
    assert await s.poller.tick() == 0


async def test_an_uninstall_pauses_the_workspaces_schedules_in_origami(sched: Scheduled) -> None:
    s = sched
    assert s.fake.schedules.items[s.record.schedule_id].enabled
    assert await s.manage.pause_all(TEAM) == 1
    assert not s.fake.schedules.items[s.record.schedule_id].enabled
    # Paused, not deleted: the organisation can resume it in Origami; no run starts.
    assert not s.fake.schedules.items[s.record.schedule_id].deleted
    assert s.fake.schedules.fire(s.record.schedule_id) is None
    # Another workspace has nothing to pause, and asks Origami nothing.
    before = len(s.fake.requests())
    assert await s.manage.pause_all("T2") == 0
    assert len(s.fake.requests()) == before


async def test_an_uninstall_that_cannot_pause_a_schedule_says_so_and_goes_on(
    sched: Scheduled,
) -> None:
    s = sched
    s.fake.fail_next(10, status=500, path_prefix="/scheduled-agents", method="POST")
    assert await s.manage.pause_all(TEAM) == 0
    assert s.fake.schedules.items[s.record.schedule_id].enabled


async def test_a_run_past_the_horizon_is_not_posted_again_once_its_marker_expired(
    sched: Scheduled,
) -> None:
    s = sched
    s.fake.script(RunScript(polls=1))
    run = s.fake.schedules.fire(s.record.schedule_id)
    assert run is not None
    await read_until(s, lambda: run.id in s.posts.opened)
    first = s.posts.opened[run.id]
    marker = keys.scheduled_run(TEAM, run.id)
    # Each read that sees the run keeps its marker another TTL.
    await s.stores._client.expire(marker, 100)
    await asyncio.sleep(0.06)
    await s.poller.tick()
    assert await s.stores._client.ttl(marker) > keys.seconds(keys.SCHEDULED_RUN_TTL) - 60
    # A month later (a weekly schedule's run is still among the newest 20), its marker
    # gone: the run is past the horizon and gets no second thread.
    await s.stores._client.delete(marker)
    s.poller._clock = lambda: time.time() + HORIZON_S + 60
    for _ in range(3):
        await asyncio.sleep(0.06)
        await s.poller.tick()
    assert s.posts.opened == {run.id: first}  # not opened a second time


async def test_a_run_made_before_its_schedule_was_kept_is_not_posted(sched: Scheduled) -> None:
    s = sched
    s.fake.script(RunScript(polls=1))
    run = s.fake.schedules.fire(s.record.schedule_id)
    assert run is not None
    await s.stores.schedules.remove(TEAM, s.record.schedule_id)
    later = replace(s.record, created_at=time.time() + 3600)
    await s.stores.schedules.add(later, 0)
    reads = f"/scheduled-agents/{s.record.schedule_id}/runs"
    await read_until(s, lambda: len(s.fake.requests("GET", reads)) >= 2)
    assert s.posts.opened == {}
    assert await s.stores.schedules.done_runs(TEAM, [run.id]) == set()


async def test_a_schedule_past_the_lists_cut_is_shown_and_kept_and_forgotten_only_on_404(
    sched: Scheduled, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = sched
    # A big organisation: the list (newest first) is cut before this workspace's schedule.
    monkeypatch.setattr(scheduled, "LIST_MAX", 1)
    s.fake.schedules.items[s.record.schedule_id].enabled = False
    client = await s.manage.origami.for_team(TEAM)
    await client.create_scheduled_agent("Another", "find CTOs", "0 9 * * 2", idempotency_key="k2")
    assert [a.id for a in await client.list_scheduled_agents()] != [s.record.schedule_id]
    (shown,) = await s.manage.listing(TEAM)
    assert shown.record.schedule_id == s.record.schedule_id and not shown.enabled
    assert await s.stores.schedules.get(TEAM, s.record.schedule_id) is not None
    # Deleted in Origami: its 404 forgets it.
    s.fake.schedules.items[s.record.schedule_id].deleted = True
    assert await s.manage.listing(TEAM) == []
    assert await s.stores.schedules.get(TEAM, s.record.schedule_id) is None


async def test_a_creation_answered_after_the_wait_is_kept_and_confirmed(
    sched: Scheduled, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = sched
    monkeypatch.setattr(manage, "CREATE_TIMEOUT_S", 0.1)
    s.fake.delay_next(1, 0.5, method="POST", path_prefix="/scheduled-agents")
    form = ScheduleForm(prompt="find CTOs", cron="0 9 * * 2", channel=CHANNEL)
    result = await s.manage.create(TEAM, "U2", form, cause="V0SLOW")
    assert result.outcome is Created.TIMED_OUT
    # The person closes the modal: Origami made it (enabled) all the same, and it is kept
    # (listed, paused at an uninstall, its runs posted) and confirmed in its channel.
    made = [i for i in s.fake.schedules.live() if i.prompt == "find CTOs"]
    deadline = asyncio.get_running_loop().time() + 5
    while not (made and made[0].id in s.posts.confirmed):
        assert asyncio.get_running_loop().time() < deadline, "never kept"
        await asyncio.sleep(0.05)
        made = [i for i in s.fake.schedules.live() if i.prompt == "find CTOs"]
    kept = await s.stores.schedules.get(TEAM, made[0].id)
    assert kept is not None and kept.creator == "U2" and kept.channel == CHANNEL
    # Submitted again after all: the same schedule, not confirmed twice.
    again = await s.manage.create(TEAM, "U2", form, cause="V0SLOW")
    assert again.outcome is Created.CREATED and again.record is not None
    assert again.record.schedule_id == made[0].id and not again.new
    assert len(s.fake.schedules.live()) == 2
