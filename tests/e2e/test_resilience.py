"""Exactly once under retries, double clicks, crashes and several processes."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
from collections import Counter, defaultdict
from typing import Any

import httpx
import pytest

from tests.conftest import RedisTarget
from tests.e2e.conftest import AppProcess, start_app, stop_app
from tests.e2e.test_conversations import (
    CHANNEL,
    bot_replies,
    finals,
    find_message,
    follow_ups,
    mention,
    reply,
    thread_text,
    wait_finished,
)
from tests.fakes import payloads
from tests.fakes.origami import FakeOrigami, RunScript, single_choice
from tests.fakes.slack import FakeSlack


def results_by_run(slack: FakeSlack) -> Counter[str]:
    """How many times each run's first result message was posted."""
    posted: Counter[str] = Counter()
    for call in slack.calls("chat.postMessage"):
        meta = call.args.get("metadata") or {}
        payload = meta.get("event_payload") or {}
        if call.ok and meta.get("event_type") == "origami_result" and payload.get("part") == 0:
            posted[str(payload["run_id"])] += 1
    return posted


@pytest.fixture
async def two_apps(
    fakes: tuple[FakeSlack, FakeOrigami], real_redis_url: str, http: httpx.AsyncClient
) -> Any:
    slack, origami = fakes
    # 20 conversations in a few seconds need ~100 Origami requests: lift the shared
    # 90/minute budget out of the way (it has its own tests).
    apps = [
        await start_app(slack, origami, real_redis_url, http, ORIGAMI_REQUESTS_PER_MINUTE="5000")
        for _ in range(2)
    ]
    try:
        yield apps
    finally:
        for app in apps:
            log = await stop_app(app)
            print(f"--- app log ---\n{log}")
            assert "Traceback" not in log
        assert slack.rejections == []


async def test_two_processes_twenty_conversations_each_result_once(
    two_apps: list[AppProcess],
) -> None:
    a, b = two_apps
    origami = a.origami
    origami.default_script = RunScript(polls=3)
    threads = []
    for i in range(20):
        app = a if i % 2 == 0 else b
        threads.append(await mention(app, f"find founders batch {i}"))
    await a.slack.wait_for(lambda s: all(finals(a, t) for t in threads), timeout=60)
    # Each run's result was posted exactly once, and each thread got exactly one final line.
    runs = [r for r in origami.runs.values()]
    assert len(runs) == 20
    assert results_by_run(a.slack) == Counter({r.id: 1 for r in runs})
    assert all(len(finals(a, t)) == 1 for t in threads)
    # One poller at a time: a run's polls are never closer together than Retry-After.
    polls: dict[str, list[float]] = defaultdict(list)
    for request in origami.requests("GET"):
        polls[request.path.rsplit("/", 1)[-1]].append(request.time)
    for run_id, times in polls.items():
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        assert all(gap >= 0.25 for gap in gaps), (run_id, gaps)
        assert len(times) == 4, (run_id, len(times))  # 3 running + 1 terminal, no more


async def test_sigkill_mid_run_then_restart_posts_the_result_once(
    fakes: tuple[FakeSlack, FakeOrigami], real_redis_url: str, http: httpx.AsyncClient
) -> None:
    slack, origami = fakes
    origami.script(RunScript(polls=None, text="Survived a crash"))
    first = await start_app(slack, origami, real_redis_url, http, WATCHER_LEASE_SECONDS="5")
    thread_ts = await mention(first, "find founders")
    await slack.wait_for(lambda s: len(origami.requests("GET")) >= 2, timeout=10)
    await stop_app(first, signal.SIGKILL)
    (run_id,) = origami.runs
    origami.finish(run_id)
    second = await start_app(slack, origami, real_redis_url, http, WATCHER_LEASE_SECONDS="5")
    try:
        await wait_finished(second, thread_ts)
        await asyncio.sleep(1)  # a second delivery, if there were one, would land by now
        assert results_by_run(slack) == Counter({run_id: 1})
        assert len(finals(second, thread_ts)) == 1
        assert "Survived a crash" in str(bot_replies(second, thread_ts))
    finally:
        log = await stop_app(second)
        print(log)
    assert slack.rejections == []


async def test_two_people_click_the_same_answer_at_once(app: AppProcess) -> None:
    app.origami.script(
        RunScript(
            polls=0,
            status="needs_input",
            pending_questions=[single_choice("Which stage?", ["Seed", "Series A"])],
        ),
        RunScript(polls=0),
    )
    thread_ts = await mention(app, "find founders")
    await wait_finished(app, thread_ts)
    message = find_message(app, thread_ts, "answer:0:0")
    clicks = [
        payloads.click(message, f"answer:0:{i % 2}", channel=CHANNEL, user=f"U0P{i}")
        for i in range(6)
    ]
    responses = await asyncio.gather(*(app.post_interactive(c) for c in clicks))
    assert [r.status_code for r in responses] == [200] * 6
    await wait_finished(app, thread_ts, 2)
    await asyncio.sleep(0.5)
    assert len(follow_ups(app)) == 1
    assert follow_ups(app)[0].body["prompt"] in ("Seed", "Series A")
    await app.slack.wait_for(lambda s: len(s.ephemerals()) == 5, timeout=5)


async def test_socket_mode_redeliveries_create_one_agent(
    fakes: tuple[FakeSlack, FakeOrigami], redis_target: RedisTarget, http: httpx.AsyncClient
) -> None:
    slack, origami = fakes
    origami.script(RunScript(polls=0))
    app = await start_app(slack, origami, redis_target.url, http, SLACK_APP_TOKEN=slack.app_token)
    try:
        event = payloads.app_mention("find founders")
        envelope = payloads.events_api(event)
        for attempt in range(4):
            frame = payloads.to_socket_envelope(
                envelope, retry_attempt=attempt, retry_reason="timeout" if attempt else ""
            )
            await slack.socket_send(frame)
        await wait_finished(app, str(event["ts"]))
        await asyncio.sleep(0.5)
        assert len(origami.requests("POST", "/agents")) == 1
    finally:
        await stop_app(app)


async def test_no_free_origami_slot_the_prompt_starts_later_by_itself(app: AppProcess) -> None:
    app.origami.concurrency_limit = 1
    app.origami.concurrency_retry_after = "1"
    app.origami.script(RunScript(polls=None), RunScript(polls=0, text="Second one ran"))
    first = await mention(app, "hold the only slot")
    await app.slack.wait_for(lambda s: len(app.origami.runs) == 1, timeout=5)
    second = await mention(app, "find founders too")
    await app.slack.wait_for(lambda s: "run slot" in thread_text(app, second), timeout=5)
    (run_id,) = app.origami.runs
    app.origami.finish(run_id)
    await wait_finished(app, second)
    assert "Second one ran" in thread_text(app, second)
    creates = app.origami.requests("POST", "/agents")
    assert [r.status for r in creates] == [202, 429, 202]
    assert creates[2].body["prompt"] == "find founders too"
    assert len(finals(app, first)) == 1


async def test_agent_busy_follow_up_is_sent_once_after_the_run(app: AppProcess) -> None:
    app.origami.script(RunScript(polls=0), RunScript(polls=None), RunScript(polls=0, text="Done"))
    thread_ts = await mention(app, "find founders")
    await wait_finished(app, thread_ts)
    (agent_id,) = app.origami.agents
    # A run started from the Origami web app holds the agent.
    started = await app.http.post(
        f"{app.origami.url}/agents/{agent_id}/runs",
        json={"prompt": "from the web app"},
        headers={"Authorization": f"Bearer {app.origami.api_key}", "Idempotency-Key": "web-1"},
    )
    external = started.json()["run"]["id"]
    await reply(app, thread_ts, "and Dallas")
    await app.slack.wait_for(lambda s: "queued" in thread_text(app, thread_ts), timeout=5)
    app.origami.finish(external)
    await wait_finished(app, thread_ts, 2)
    await asyncio.sleep(1)
    sent = [r for r in follow_ups(app) if r.body["prompt"] == "and Dallas"]
    assert len(sent) == 1
    assert "Done" in thread_text(app, thread_ts)


def _workers(app: AppProcess) -> list[int]:
    """The worker processes ``python -m bot`` started (its children)."""
    with open(f"/proc/{app.proc.pid}/task/{app.proc.pid}/children") as f:
        return [int(pid) for pid in f.read().split()]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def test_a_worker_killed_mid_run_is_restarted_and_the_result_posted_once(
    fakes: tuple[FakeSlack, FakeOrigami], real_redis_url: str, http: httpx.AsyncClient
) -> None:
    slack, origami = fakes
    origami.script(RunScript(polls=None, text="Survived a worker crash"))
    app = await start_app(slack, origami, real_redis_url, http, WATCHER_LEASE_SECONDS="5")
    try:
        (worker,) = await slack.wait_for(lambda _: _workers(app), timeout=10)
        thread_ts = await mention(app, "find founders")
        await slack.wait_for(lambda s: len(origami.requests("GET")) >= 2, timeout=10)
        os.kill(worker, signal.SIGKILL)
        (run_id,) = origami.runs
        origami.finish(run_id)
        # A new worker takes the run over once the dead one's lease ends.
        await wait_finished(app, thread_ts)
        (replacement,) = _workers(app)
        assert replacement != worker
        await asyncio.sleep(1)  # a second delivery, if there were one, would land by now
        assert results_by_run(slack) == Counter({run_id: 1})
        assert "Survived a worker crash" in str(bot_replies(app, thread_ts))
    finally:
        log = await stop_app(app)
    assert "worker died; restarting it" in log
    assert slack.rejections == []
    # SIGTERM is a graceful stop: the worker finishes, then the app itself, exit code 0.
    assert 'msg="worker stopped"' in log and "msg=stopped" in log
    assert app.proc.returncode == 0


async def test_workers_stop_with_the_app_even_when_it_is_killed(
    fakes: tuple[FakeSlack, FakeOrigami], real_redis_url: str, http: httpx.AsyncClient
) -> None:
    slack, origami = fakes
    app = await start_app(slack, origami, real_redis_url, http, WORKER_PROCESSES="2")
    await slack.wait_for(lambda _: len(_workers(app)) == 2, timeout=10)
    workers = _workers(app)
    await stop_app(app, signal.SIGKILL)
    # No orphan keeps polling after its app is gone: each hears of it and stops.
    await slack.wait_for(lambda _: not any(_alive(pid) for pid in workers), timeout=15)
