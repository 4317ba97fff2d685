"""Exactly once under retries, double clicks, crashes and several processes."""

from __future__ import annotations

import asyncio
import itertools
import signal
from collections import Counter, defaultdict
from typing import Any

import httpx
import pytest

from tests.conftest import RedisTarget
from tests.e2e.conftest import AppProcess, start_app, stop_app, wait_readyz
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
        first_part = payload.get("part") == "result-0"
        if call.ok and meta.get("event_type") == "origami_part" and first_part:
            posted[str(payload["owner"])] += 1
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
    for request in origami.requests("GET", path_prefix="/agents/"):
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


async def test_a_web_process_and_a_separate_worker_post_the_result_once(
    fakes: tuple[FakeSlack, FakeOrigami], real_redis_url: str, http: httpx.AsyncClient
) -> None:
    slack, origami = fakes
    origami.script(RunScript(polls=2, text="Split answer"))
    web = await start_app(slack, origami, real_redis_url, http, "web")
    worker = await start_app(slack, origami, real_redis_url, http, "worker")
    try:
        thread_ts = await mention(web, "find founders")
        await wait_finished(web, thread_ts)
        await asyncio.sleep(1)  # a second delivery, if there were one, would land by now
        (run_id,) = origami.runs
        assert results_by_run(slack) == Counter({run_id: 1})
        assert len(finals(web, thread_ts)) == 1
        acks = [
            c
            for c in slack.calls("chat.postMessage")
            if c.args.get("thread_ts") == thread_ts and "On it" in str(c.args.get("text"))
        ]
        assert len(acks) == 1
        assert "Split answer" in thread_text(web, thread_ts)
        assert len(origami.requests("POST", "/agents")) == 1
    finally:
        web_log, worker_log = await stop_app(web), await stop_app(worker)
        print(f"--- web ---\n{web_log}\n--- worker ---\n{worker_log}")
    # The web process only kept the message; the worker watched the run.
    assert 'msg="watcher started"' not in web_log
    assert 'msg="watcher started"' in worker_log
    assert "Traceback" not in web_log + worker_log
    assert slack.rejections == []


async def test_a_worker_killed_mid_run_a_new_worker_posts_the_result_once(
    fakes: tuple[FakeSlack, FakeOrigami], real_redis_url: str, http: httpx.AsyncClient
) -> None:
    slack, origami = fakes
    origami.script(RunScript(polls=None, text="Survived a worker crash"))
    lease = {"WATCHER_LEASE_SECONDS": "5"}
    web = await start_app(slack, origami, real_redis_url, http, "web", **lease)
    first = await start_app(slack, origami, real_redis_url, http, "worker", **lease)
    second: AppProcess | None = None
    try:
        thread_ts = await mention(web, "find founders")
        await slack.wait_for(lambda s: len(origami.requests("GET")) >= 2, timeout=10)
        await stop_app(first, signal.SIGKILL)
        (run_id,) = origami.runs
        origami.finish(run_id)
        # The platform starts a new worker; it takes the run over once the lease ends.
        second = await start_app(slack, origami, real_redis_url, http, "worker", **lease)
        await wait_finished(web, thread_ts)
        await asyncio.sleep(1)  # a second delivery, if there were one, would land by now
        assert results_by_run(slack) == Counter({run_id: 1})
        assert len(finals(web, thread_ts)) == 1
        assert "Survived a worker crash" in str(bot_replies(web, thread_ts))
    finally:
        logs = [await stop_app(p) for p in (web, second) if p is not None]
        print("\n".join(logs))
    assert "Traceback" not in "".join(logs)
    assert slack.rejections == []


async def test_readyz_needs_a_worker_heartbeat_wherever_the_worker_runs(
    fakes: tuple[FakeSlack, FakeOrigami], real_redis_url: str, http: httpx.AsyncClient
) -> None:
    slack, origami = fakes
    beat = {"WORKER_HEARTBEAT_SECONDS": "0.5"}  # a heartbeat then lasts 1.5 s
    web = await start_app(slack, origami, real_redis_url, http, "web")
    workers: list[AppProcess] = []
    try:
        # Alone, the web process is alive but not ready, and says what is missing.
        health = await http.get(f"{web.url}/healthz")
        assert (health.status_code, health.json()) == (200, {"ok": True, "role": "web"})
        alone = await http.get(f"{web.url}/readyz")
        assert alone.status_code == 503
        assert alone.json()["redis"] == "up" and alone.json()["workers"] == 0
        assert "no worker is running" in alone.json()["missing"]
        # A worker in another process beats: ready.
        workers.append(await start_app(slack, origami, real_redis_url, http, "worker", **beat))
        assert (await wait_readyz(web, 200))["workers"] == 1
        # Killed, it cannot say it is gone: not ready once its heartbeat runs out.
        await stop_app(workers[0], signal.SIGKILL)
        killed_at = asyncio.get_running_loop().time()
        await wait_readyz(web, 503, timeout=1.5 + 1.0)
        assert asyncio.get_running_loop().time() - killed_at > 0.5  # not before it ran out
        # Stopped cleanly, a worker takes its heartbeat out at once.
        workers.append(await start_app(slack, origami, real_redis_url, http, "worker", **beat))
        await wait_readyz(web, 200)
        await stop_app(workers[1])
        stopped = await http.get(f"{web.url}/readyz")
        assert stopped.status_code == 503 and stopped.json()["workers"] == 0
    finally:
        log = await stop_app(web)
        for worker in workers:
            await stop_app(worker)
        print(log)
    assert slack.rejections == []


@pytest.mark.parametrize("role", [None, "web", "worker"])
async def test_sigterm_stops_each_kind_of_process_cleanly(
    fakes: tuple[FakeSlack, FakeOrigami],
    real_redis_url: str,
    http: httpx.AsyncClient,
    role: str | None,
) -> None:
    slack, origami = fakes
    running = await start_app(slack, origami, real_redis_url, http, role)
    log = await stop_app(running)
    print(log)
    assert running.proc.returncode == 0
    assert "msg=stopped" in log
    assert "Traceback" not in log
