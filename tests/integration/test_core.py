"""The bridge and the watcher over real HTTP (fake Origami) and a real Redis, without Slack."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import Any

import pytest

from bot import keys
from bot.bridge import Bridge, BridgeConfig, Note, Prompt, ThreadRef
from bot.origami.client import OrigamiClient, RetryPolicy, build_http_client
from bot.origami.models import RunStatus
from bot.problems import ProblemKind
from bot.store import Store, now_ms
from bot.watcher import Watcher, WatcherConfig
from tests.fakes.origami import FakeOrigami, RunScript, single_choice
from tests.fakes.presenter import RecordingPresenter

THREAD = ThreadRef("T1", "C1", "1700000000.000100")


@dataclass
class Harness:
    fake: FakeOrigami
    store: Store
    presenter: RecordingPresenter
    bridge: Bridge
    watcher: Watcher

    async def sent(self) -> None:
        """Prompts handed off to the watcher are sent (one tick claims them); with the
        bridge sending them itself, they already are."""
        if self.bridge.config.hand_off:
            await self.watcher.tick()

    async def drive(self, done: Callable[[], bool], limit_s: float = 10.0) -> None:
        """Run watcher ticks until ``done()``; bounded in time."""
        deadline = asyncio.get_running_loop().time() + limit_s
        while not done():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"not done after {limit_s}s: {self.presenter.shown}")
            if await self.watcher.tick() == 0:
                await asyncio.sleep(0.02)


@pytest.fixture(params=[False, True], ids=["direct", "handed-off"])
async def h(store: Store, request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    """Every test runs twice: prompts sent by the bridge that took them (one process), and
    handed off to the watcher (``BridgeConfig.hand_off``, a Slack process with workers)."""
    async with FakeOrigami(retry_after="0.2") as fake:
        origami = OrigamiClient(
            build_http_client(fake.url, fake.api_key, timeout=5),
            retry=RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, total_budget=5),
        )
        presenter = RecordingPresenter()
        config = BridgeConfig(first_poll_s=0.05, hand_off=request.param)
        bridge = Bridge(store, origami, presenter, config)
        watcher = Watcher(store, origami, bridge, WatcherConfig(lease_s=5, idle_s=0.02))
        try:
            yield Harness(fake, store, presenter, bridge, watcher)
        finally:
            await origami.aclose()


def _prompt(text: str, cause: str, user: str = "U1") -> Prompt:
    return Prompt(text=text, user_id=user, cause=cause)


class _Died(Exception):
    """Stands for the process dying at this point."""


def _die_on_first_call(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> list[int]:
    """``owner.name`` raises ``_Died`` on its first call (the process dies there) and works
    after; returns the list its calls are counted in."""
    real = getattr(owner, name)
    calls: list[int] = []

    async def once(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise _Died
        return await real(*args, **kwargs)

    monkeypatch.setattr(owner, name, once)
    return calls


async def _start_and_die(
    h: Harness, monkeypatch: pytest.MonkeyPatch, owner: object, name: str, prompt: Prompt
) -> None:
    """Start a conversation in a process that dies at ``owner.name`` (its first call):
    the bridge that took the message, or the watcher it handed the prompt to. Whoever
    takes the kept prompt over next does so soon (short hold, short back-off)."""
    h.bridge.config = replace(h.bridge.config, hold_s=0.2)
    h.watcher.config = replace(h.watcher.config, error_backoff_s=0.05)
    calls = _die_on_first_call(monkeypatch, owner, name)
    if h.bridge.config.hand_off:
        await h.bridge.start_conversation(THREAD, prompt)
        assert h.presenter.shown == []  # kept and handed off, nothing posted yet
        await h.watcher.tick()  # the watcher's poll task dies (its outcome: try again soon)
    else:
        with pytest.raises(_Died):
            await h.bridge.start_conversation(THREAD, prompt)
    # The watcher swallows its poll task's death: check it did die where it should.
    assert calls == [1], f"{name} was not reached"


async def test_start_poll_and_deliver_once(h: Harness) -> None:
    h.fake.script(RunScript(polls=3, status="completed", text="Found **20** founders."))
    await h.bridge.start_conversation(THREAD, _prompt("find 20 founders", "C1:1.0"))
    await h.sent()
    (created,) = h.fake.requests("POST", "/agents")
    assert created.headers["idempotency-key"] == "start:C1:1.0"
    assert created.body["prompt"] == "find 20 founders"
    state = await h.store.get_thread(THREAD.team, THREAD.channel, THREAD.thread_ts)
    assert state is not None and state.agent_id and state.active_run

    await h.drive(lambda: bool(h.presenter.of("progress_final")))
    results = h.presenter.of("result")
    assert len(results) == 1
    assert results[0].data["run"].status is RunStatus.COMPLETED
    assert results[0].data["run"].response.text == "Found **20** founders."
    # Three polls answered running (progress each time), the fourth was terminal.
    assert len(h.presenter.of("progress")) == 3
    assert len(h.fake.requests("GET")) == 4
    # Delivered runs leave the schedule and the thread idle.
    assert await h.store.scheduled_count() == 0
    state = await h.store.get_thread(THREAD.team, THREAD.channel, THREAD.thread_ts)
    assert state is not None and state.active_run is None
    # Delivering again (a crash after posting) posts nothing new.
    record = await h.store.get_run("T1", results[0].data["run"].id)
    assert record is not None
    await h.bridge.deliver(record, results[0].data["run"])
    assert len(h.presenter.of("result")) == 1


async def test_progress_updates_stay_within_their_allowance(h: Harness) -> None:
    h.watcher.config = replace(h.watcher.config, progress_per_minute=2)
    h.fake.script(RunScript(polls=3), RunScript(polls=3))
    other = ThreadRef("T1", "C1", "1700000000.000200")
    await h.bridge.start_conversation(THREAD, _prompt("first", "C1:1.0"))
    await h.bridge.start_conversation(other, _prompt("second", "C1:2.0"))
    await h.drive(lambda: len(h.presenter.of("result")) == 2)
    # Six running polls, two progress updates allowed this minute; every result posted.
    assert len(h.fake.requests("GET")) == 8
    assert len(h.presenter.of("progress")) == 2
    assert len(h.presenter.of("progress_final")) == 2


async def test_a_delivery_cut_short_after_its_post_is_finished_not_repeated(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h.watcher.config = replace(h.watcher.config, error_backoff_s=0.05)
    h.fake.script(RunScript(polls=0, text="Once"))
    # Dies after the result is posted, before its record and "final" are written.
    calls = _die_on_first_call(monkeypatch, h.store, "release_thread")
    await h.bridge.start_conversation(THREAD, _prompt("find founders", "C1:1.0"))
    await h.drive(lambda: len(calls) >= 2)
    assert len(h.presenter.of("result")) == 1
    record = await h.store.get_run("T1", h.presenter.of("result")[0].data["run"].id)
    assert record is not None
    parts = await h.store.redis.hgetall(keys.delivery("T1", record.run_id))
    assert parts["result:0"] == h.presenter.of("result")[0].data["ts"]
    assert parts["final"] == "1"


async def test_the_next_poll_waits_for_retry_after(h: Harness) -> None:
    h.fake.retry_after = "2"
    h.fake.script(RunScript(polls=None))
    await h.bridge.start_conversation(THREAD, _prompt("go", "C1:2.0"))
    await h.drive(lambda: len(h.fake.requests("GET")) == 1)
    polled_at = now_ms()
    due = await h.store.next_due_ms()
    assert due is not None
    assert 1_900 <= due - polled_at <= 2_100
    # Nothing is due before then, however often a watcher looks.
    for _ in range(5):
        assert await h.watcher.tick() == 0
    assert len(h.fake.requests("GET")) == 1


async def test_follow_up_while_running_is_queued_and_sent_once_after(h: Harness) -> None:
    h.fake.script(RunScript(polls=2), RunScript(polls=1, text="Second answer"))
    await h.bridge.start_conversation(THREAD, _prompt("first", "C1:1.0"))
    await h.bridge.follow_up(THREAD, _prompt("also in Dallas", "C1:3.0", user="U2"))
    await h.bridge.follow_up(THREAD, _prompt("and Houston", "C1:4.0", user="U3"))
    queued = h.presenter.of("queued")
    assert [q.data["position"] for q in queued] == [1, 2]
    assert len(h.fake.requests("POST", "/runs")) == 0
    await h.drive(lambda: len(h.presenter.of("result")) == 2)
    (follow,) = [r for r in h.fake.requests("POST") if r.path.endswith("/runs")]
    assert follow.body["prompt"] == "also in Dallas\n\nand Houston"
    assert follow.headers["idempotency-key"] == "run:queued:C1:3.0,C1:4.0"
    assert h.presenter.of("result")[1].data["run"].response.text == "Second answer"


async def test_billing_error_is_shown_with_the_fix_link_and_creates_nothing(h: Harness) -> None:
    h.fake.billing_error("INSUFFICIENT_CREDITS")
    await h.bridge.start_conversation(THREAD, _prompt("find founders", "C1:1.0"))
    await h.sent()
    (shown,) = h.presenter.of("problem")
    problem = shown.data["problem"]
    assert problem.kind is ProblemKind.OUT_OF_CREDITS
    assert problem.fix_url == "https://origami.chat/settings/billing?source=api"
    # The acknowledgement is turned into the problem message, in place.
    assert shown.data["ts"] == h.presenter.of("acknowledge")[0].data["ts"]
    assert await h.store.get_thread(THREAD.team, THREAD.channel, THREAD.thread_ts) is None
    assert await h.store.scheduled_count() == 0


async def test_empty_prompt_gets_a_usage_hint_and_no_agent(h: Harness) -> None:
    await h.bridge.start_conversation(THREAD, _prompt("   ", "C1:1.0"))
    assert len(h.presenter.of("usage_hint")) == 1
    assert h.fake.requests() == []


async def test_one_question_one_click_one_follow_up(h: Harness) -> None:
    h.fake.script(
        RunScript(
            polls=1,
            status="needs_input",
            pending_questions=[single_choice("Which city?", ["Austin", "Dallas"])],
        ),
        RunScript(polls=1),
    )
    await h.bridge.start_conversation(THREAD, _prompt("find founders", "C1:1.0"))
    await h.drive(lambda: bool(h.presenter.of("questions")))
    run_id = h.presenter.of("questions")[0].data["run_id"]
    await asyncio.gather(
        h.bridge.answer(THREAD, run_id, 0, "U1", choice=1),
        h.bridge.answer(THREAD, run_id, 0, "U2", choice=0),
    )
    await h.sent()
    follow_ups = [r for r in h.fake.requests("POST") if r.path.endswith("/runs")]
    assert len(follow_ups) == 1
    assert follow_ups[0].body["prompt"] in ("Austin", "Dallas")
    notes = h.presenter.of("note")
    assert [n.data["note"] for n in notes] == [Note.ALREADY_ANSWERED]
    closed = [q for q in h.presenter.of("questions") if q.data["closed"]]
    assert len(closed) == 1
    # A late click changes nothing.
    await h.bridge.answer(THREAD, run_id, 0, "U3", choice=0)
    assert len([r for r in h.fake.requests("POST") if r.path.endswith("/runs")]) == 1


async def test_several_questions_are_sent_together(h: Harness) -> None:
    h.fake.script(
        RunScript(
            polls=0,
            status="needs_input",
            pending_questions=[
                single_choice("Which city?", ["Austin", "Dallas"]),
                single_choice("How many?", ["10", "20"]),
            ],
        ),
        RunScript(polls=1),
    )
    await h.bridge.start_conversation(THREAD, _prompt("find founders", "C1:1.0"))
    await h.drive(lambda: bool(h.presenter.of("questions")))
    run_id = h.presenter.of("questions")[0].data["run_id"]
    await h.bridge.answer(THREAD, run_id, 1, "U2", text="about 15")
    assert not [r for r in h.fake.requests("POST") if r.path.endswith("/runs")]
    await h.bridge.answer(THREAD, run_id, 0, "U1", choice=0)
    await h.sent()
    (sent,) = [r for r in h.fake.requests("POST") if r.path.endswith("/runs")]
    assert sent.body["prompt"] == "Which city? -> Austin\nHow many? -> about 15"
    assert sent.headers["idempotency-key"] == f"run:answers:{run_id}"


async def test_continue_is_sent_once_however_often_clicked(h: Harness) -> None:
    h.fake.script(RunScript(polls=0, status="step_cap_hit"), RunScript(polls=1))
    await h.bridge.start_conversation(THREAD, _prompt("find founders", "C1:1.0"))
    await h.drive(lambda: bool(h.presenter.of("result")))
    run_id = h.presenter.of("result")[0].data["run"].id
    await asyncio.gather(
        *(h.bridge.continue_run(THREAD, run_id, f"U{i}", "1700000000.000009") for i in range(3))
    )
    await h.sent()
    follow_ups = [r for r in h.fake.requests("POST") if r.path.endswith("/runs")]
    assert len(follow_ups) == 1
    assert follow_ups[0].body["prompt"] == "Please continue where you left off."
    assert len(h.presenter.of("choice_made")) == 1
    assert [n.data["note"] for n in h.presenter.of("note")] == [Note.ALREADY_DONE] * 2


async def test_agent_deleted_in_origami_is_reported(h: Harness) -> None:
    h.fake.script(RunScript(polls=None))
    await h.bridge.start_conversation(THREAD, _prompt("find founders", "C1:1.0"))
    await h.sent()
    h.fake.agents.clear()
    h.fake.runs.clear()
    await h.drive(lambda: bool(h.presenter.of("problem")))
    assert h.presenter.of("problem")[0].data["problem"].kind is ProblemKind.AGENT_NOT_FOUND
    assert await h.store.scheduled_count() == 0


async def test_no_free_slot_keeps_the_prompt_and_starts_it_later(h: Harness) -> None:
    h.fake.concurrency_limit = 1
    h.fake.concurrency_retry_after = "1"
    other = ThreadRef("T1", "C1", "1700000000.000200")
    h.fake.script(RunScript(polls=None), RunScript(polls=1, text="second thread done"))
    await h.bridge.start_conversation(other, _prompt("hold the slot", "C1:0.5"))
    await h.sent()
    await h.bridge.start_conversation(THREAD, _prompt("find founders", "C1:1.0"))
    await h.sent()
    (waiting,) = h.presenter.of("waiting_for_slot")
    assert waiting.data["busy"] == 1 and waiting.data["limit"] == 1
    assert waiting.data["retry_after_s"] == 1
    # A reply meanwhile queues behind the kept prompt instead of overtaking it.
    await h.bridge.follow_up(THREAD, _prompt("in Austin", "C1:1.5"))
    assert h.presenter.of("queued")[-1].data["run_id"] is None
    refused = h.fake.requests("POST", "/agents")
    assert [r.status for r in refused] == [202, 429]
    # The slot frees up; the kept prompt goes by itself, under a fresh Idempotency-Key.
    first_run = next(iter(h.fake.runs))
    h.fake.finish(first_run)
    await h.drive(
        lambda: any(
            r.data["run"].response and r.data["run"].response.text == "second thread done"
            for r in h.presenter.of("result")
        )
    )
    creates = h.fake.requests("POST", "/agents")
    assert [r.status for r in creates if r.status == 202] == [202, 202]
    assert creates[-1].headers["idempotency-key"] == "start:C1:1.0:attempt-2"
    assert creates[-1].body["prompt"] == "find founders"
    state = await h.store.get_thread(THREAD.team, THREAD.channel, THREAD.thread_ts)
    assert state is not None and state.agent_id is not None
    # And what queued behind it followed once that run ended.
    await h.drive(lambda: any(r.path.endswith("/runs") for r in h.fake.requests("POST")))
    follow = [r for r in h.fake.requests("POST") if r.path.endswith("/runs")]
    assert len(follow) == 1 and follow[0].body["prompt"] == "in Austin"


async def test_origami_down_for_good_the_user_is_told_after_bounded_tries(h: Harness) -> None:
    h.bridge.config = replace(h.bridge.config, transient_retry_s=0.05, transient_tries=3)
    h.fake.fail_next(100, status=503, path_prefix="/agents", method="POST")
    await h.bridge.start_conversation(THREAD, _prompt("find founders", "C1:1.0"))
    await h.drive(lambda: len(h.presenter.of("problem")) == 2)
    first, last = (p.data["problem"] for p in h.presenter.of("problem"))
    assert (first.kind, first.retrying) == (ProblemKind.UNREACHABLE, True)
    assert (last.kind, last.retrying) == (ProblemKind.UNREACHABLE, False)
    creates = h.fake.requests("POST", "/agents")
    # 3 tries of 3 quick client attempts each, all under one Idempotency-Key.
    assert len(creates) == 9
    assert {r.headers["idempotency-key"] for r in creates} == {"start:C1:1.0"}
    assert await h.store.get_thread(THREAD.team, THREAD.channel, THREAD.thread_ts) is None
    assert await h.store.scheduled_count() == 0


async def test_agent_busy_with_a_run_we_do_not_watch_sends_once_after_it(h: Harness) -> None:
    import httpx

    h.bridge.config = replace(h.bridge.config, default_poll_s=0.1)
    h.fake.script(RunScript(polls=0), RunScript(polls=None), RunScript(polls=0, text="after"))
    await h.bridge.start_conversation(THREAD, _prompt("find founders", "C1:1.0"))
    await h.drive(lambda: bool(h.presenter.of("result")))
    (agent_id,) = h.fake.agents
    # Someone starts a run on the same agent from the Origami app.
    async with httpx.AsyncClient() as client:
        started = await client.post(
            f"{h.fake.url}/agents/{agent_id}/runs",
            json={"prompt": "from the web app"},
            headers={"Authorization": f"Bearer {h.fake.api_key}", "Idempotency-Key": "web-1"},
        )
    assert started.status_code == 202
    external = started.json()["run"]["id"]
    await h.bridge.follow_up(THREAD, _prompt("and Dallas", "C1:5.0"))
    await h.sent()
    (queued,) = h.presenter.of("queued")
    assert queued.data["run_id"] == external
    # A reply meanwhile waits behind the kept one.
    await h.bridge.follow_up(THREAD, _prompt("and Houston", "C1:6.0"))
    h.fake.finish(external)
    await h.drive(lambda: len(h.presenter.of("result")) == 3)
    ours = [r for r in h.fake.requests("POST") if r.path.endswith("/runs") and r.status == 202][1:]
    assert [r.body["prompt"] for r in ours] == ["and Dallas", "and Houston"]
    busy = [r for r in h.fake.requests("POST") if r.status == 409]
    assert busy and all(r.body["prompt"] == "and Dallas" for r in busy)
    # The 409 is stored under its key; the try that went through used a new one.
    assert busy[0].headers["idempotency-key"] == "run:C1:5.0"
    assert ours[0].headers["idempotency-key"].startswith("run:C1:5.0:attempt-")


async def test_crash_before_the_acknowledgement_loses_nothing(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h.fake.script(RunScript(polls=1, text="Recovered"))
    # Dies when the message is claimed and its prompt kept, before anything else.
    await _start_and_die(h, monkeypatch, h.presenter, "acknowledge", _prompt("find", "C1:1.0"))
    assert h.fake.requests("POST", "/agents") == []
    await h.drive(lambda: bool(h.presenter.of("result")))
    assert len(h.fake.requests("POST", "/agents")) == 1
    assert len(h.presenter.of("acknowledge")) == 1
    assert h.presenter.of("result")[0].data["run"].response.text == "Recovered"
    assert await h.store.scheduled_count() == 0


async def test_crash_after_the_agent_was_created_loses_nothing_and_doubles_nothing(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h.fake.script(RunScript(polls=1, text="Recovered"))
    # Dies when Origami made the agent, before the mapping is saved.
    await _start_and_die(h, monkeypatch, h.store, "started", _prompt("find", "C1:1.0"))
    # Another process (here: the same watcher) finds the kept prompt and finishes the job.
    await h.drive(lambda: bool(h.presenter.of("result")))
    creates = h.fake.requests("POST", "/agents")
    assert [r.replayed for r in creates] == [False, True]
    assert len(h.fake.agents) == 1 and len(h.fake.runs) == 1
    assert h.presenter.of("result")[0].data["run"].response.text == "Recovered"
    assert len(h.presenter.of("acknowledge")) == 1
    assert await h.store.scheduled_count() == 0


async def test_a_handed_off_prompt_is_sent_by_a_watcher_as_soon_as_it_is_announced(
    h: Harness,
) -> None:
    """A Slack process with workers: its bridge keeps the prompt and posts nothing; a
    worker's watcher, idle for long stretches, is woken by the announcement and sends it."""
    taker = Bridge(h.store, h.bridge.origami, h.presenter, BridgeConfig(hand_off=True))
    h.watcher.config = replace(h.watcher.config, idle_s=30)
    h.fake.script(RunScript(polls=0, text="Handed over"))
    loop = asyncio.create_task(h.watcher.run_forever())
    listener = asyncio.create_task(h.watcher.listen_for_handoffs())
    try:
        for _ in range(100):  # until the worker listens
            if (await h.store.redis.pubsub_numsub(keys.handoff_channel()))[0][1]:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.05)  # its first claim found nothing; it sleeps for 30 s
        await taker.start_conversation(THREAD, _prompt("find founders", "C1:1.0"))
        assert h.presenter.shown == [] and h.fake.requests() == []
        deadline = asyncio.get_running_loop().time() + 5
        while not h.presenter.of("acknowledge"):
            assert asyncio.get_running_loop().time() < deadline, "not claimed when announced"
            await asyncio.sleep(0.01)
    finally:
        h.watcher.stop()
        await asyncio.wait_for(asyncio.gather(loop, listener), 15)
    assert len(h.presenter.of("acknowledge")) == 1
    (created,) = h.fake.requests("POST", "/agents")
    assert created.headers["idempotency-key"] == "start:C1:1.0"
