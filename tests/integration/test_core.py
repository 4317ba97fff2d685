"""The use cases, the sender and the watcher over real HTTP (fake Origami) and a real
Redis, without Slack. One path for every prompt: intake keeps it, a watcher's claim sends
it, as in every process the app runs."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.domain import Note, ThreadRef
from bot.origami.models import RunStatus
from bot.problems import ProblemKind
from bot.stores import keys
from bot.stores.budget import now_ms
from tests import storage
from tests.fakes.origami import RunScript, single_choice
from tests.integration.harness import (
    THREAD,
    Died,
    Harness,
    die_on_first_call,
    prompt,
    start_and_die,
)


async def test_start_poll_and_deliver_once(h: Harness) -> None:
    h.fake.script(RunScript(polls=3, status="completed", text="Found **20** founders."))
    await h.start(THREAD, prompt("find 20 founders", "C1:1.0"))
    (created,) = h.fake.requests("POST", "/agents")
    assert created.headers["idempotency-key"] == "start:T1:C1:1.0"
    assert created.body["prompt"] == "find 20 founders"
    state = await h.thread_state()
    assert state is not None and state.agent_id and state.busy

    await h.drive(lambda: bool(h.presenter.of("progress_final")))
    results = h.presenter.of("result")
    assert len(results) == 1
    assert results[0].data["run"].status is RunStatus.COMPLETED
    assert results[0].data["run"].response.text == "Found **20** founders."
    # Three polls answered running (progress each time), the fourth was terminal.
    assert len(h.presenter.of("progress")) == 3
    assert len(h.fake.requests("GET", path_prefix="/agents/")) == 4
    # Then the rows of its table, once, for the lead preview.
    [rows] = h.fake.requests("GET", path_prefix="/tables/")
    assert rows.query == {"limit": "5"}
    [preview] = results[0].data["previews"].values()
    assert preview.rows and len(preview.rows) <= 5
    # Delivered runs leave the schedule and the thread idle.
    assert await h.stores.schedule.count() == 0
    state = await h.thread_state()
    assert state is not None and state.busy is None
    # Delivering again (a crash after posting) posts nothing new.
    record = await h.stores.runs.get("T1", results[0].data["run"].id)
    assert record is not None
    await h.core.watcher.work.port.finished(record, results[0].data["run"])
    assert len(h.presenter.of("result")) == 1


async def test_progress_updates_stay_within_their_allowance(h: Harness) -> None:
    h.tune_watcher(progress_per_minute=2)
    h.fake.script(RunScript(polls=3), RunScript(polls=3))
    other = ThreadRef("T1", "C1", "1700000000.000200")
    await h.start(THREAD, prompt("first", "C1:1.0"))
    await h.start(other, prompt("second", "C1:2.0"))
    await h.drive(lambda: len(h.presenter.of("result")) == 2)
    # Six running polls, two progress updates allowed this minute; every result posted.
    assert len(h.fake.requests("GET", path_prefix="/agents/")) == 8
    assert len(h.presenter.of("progress")) == 2
    assert len(h.presenter.of("progress_final")) == 2


async def test_a_delivery_cut_short_after_its_post_is_finished_not_repeated(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h.tune_watcher(error_backoff_s=0.05)
    h.fake.script(RunScript(polls=0, text="Once"))
    # Dies after the result is posted, before its record and "final" are written.
    calls = die_on_first_call(monkeypatch, h.stores.threads, "release")
    await h.start(THREAD, prompt("find founders", "C1:1.0"))
    await h.drive(lambda: len(calls) >= 2)
    assert len(h.presenter.of("result")) == 1
    record = await h.stores.runs.get("T1", h.presenter.of("result")[0].data["run"].id)
    assert record is not None
    parts = await h.stores._client.hgetall(keys.delivery("T1", record.run_id))
    assert parts["posted:result-0"] == h.presenter.of("result")[0].data["ts"]
    # The thread went on: it is idle, and the run left the schedule.
    state = await h.thread_state()
    assert state is not None and state.busy is None
    assert await h.stores.schedule.count() == 0


async def test_the_next_poll_waits_for_retry_after(h: Harness) -> None:
    h.fake.retry_after = "2"
    h.fake.script(RunScript(polls=None))
    await h.start(THREAD, prompt("go", "C1:2.0"))
    await h.drive(lambda: len(h.fake.requests("GET")) == 1)
    polled_at = now_ms()
    due = await storage.next_due_ms(h.stores)
    assert due is not None
    assert 1_900 <= due - polled_at <= 2_100
    # Nothing is due before then, however often a watcher looks.
    for _ in range(5):
        assert await h.core.watcher.tick() == 0
    assert len(h.fake.requests("GET")) == 1


async def test_follow_up_while_running_is_queued_and_sent_once_after(h: Harness) -> None:
    h.fake.script(RunScript(polls=2), RunScript(polls=1, text="Second answer"))
    await h.start(THREAD, prompt("first", "C1:1.0"))
    await h.reply(THREAD, prompt("also in Dallas", "C1:3.0", user="U2"))
    await h.reply(THREAD, prompt("and Houston", "C1:4.0", user="U3"))
    queued = h.presenter.of("queued")
    assert [q.data["position"] for q in queued] == [1, 2]
    assert len(h.fake.requests("POST", "/runs")) == 0
    await h.drive(lambda: len(h.presenter.of("result")) == 2)
    (follow,) = [r for r in h.fake.requests("POST") if r.path.endswith("/runs")]
    assert follow.body["prompt"] == "also in Dallas\n\nand Houston"
    assert follow.headers["idempotency-key"] == "run:T1:queued:C1:3.0,C1:4.0"
    assert h.presenter.of("result")[1].data["run"].response.text == "Second answer"


async def test_billing_error_is_shown_with_the_fix_link_and_creates_nothing(h: Harness) -> None:
    h.fake.billing_error("INSUFFICIENT_CREDITS")
    await h.start(THREAD, prompt("find founders", "C1:1.0"))
    (shown,) = h.presenter.of("problem")
    problem = shown.data["problem"]
    assert problem.kind is ProblemKind.OUT_OF_CREDITS
    assert problem.fix_url == "https://origami.chat/settings/billing?source=api"
    # The acknowledgement is turned into the problem message, in place.
    assert shown.data["ts"] == h.presenter.of("acknowledge")[0].data["ts"]
    assert await h.thread_state() is None
    assert await h.stores.schedule.count() == 0


async def test_empty_prompt_gets_a_usage_hint_and_no_agent(h: Harness) -> None:
    await h.start(THREAD, prompt("   ", "C1:1.0"))
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
    await h.start(THREAD, prompt("find founders", "C1:1.0"))
    await h.drive(lambda: bool(h.presenter.of("questions")))
    run_id = h.presenter.of("questions")[0].data["run_id"]
    await asyncio.gather(
        h.buttons.answer(THREAD, run_id, 0, "U1", choice=1),
        h.buttons.answer(THREAD, run_id, 0, "U2", choice=0),
    )
    await h.sent()
    follow_ups = h.run_posts()
    assert len(follow_ups) == 1
    assert follow_ups[0].body["prompt"] in ("Austin", "Dallas")
    notes = h.presenter.of("note")
    assert [n.data["note"] for n in notes] == [Note.ALREADY_ANSWERED]
    # The note says who answered first, and what.
    first = notes[0].data["answer"]
    assert (
        first is not None
        and first.user_id in ("U1", "U2")
        and first.user_id != notes[0].data["user"]
    )
    # The question message is closed in place, once.
    (closed,) = [q for q in h.presenter.of("questions_update") if q.data["closed"]]
    assert closed.data["ts"] == h.presenter.of("questions")[0].data["ts"]
    # A late click changes nothing.
    await h.buttons.answer(THREAD, run_id, 0, "U3", choice=0)
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
    await h.start(THREAD, prompt("find founders", "C1:1.0"))
    await h.drive(lambda: bool(h.presenter.of("questions")))
    run_id = h.presenter.of("questions")[0].data["run_id"]
    await h.buttons.answer(THREAD, run_id, 1, "U2", text="about 15")
    assert not [r for r in h.fake.requests("POST") if r.path.endswith("/runs")]
    await h.buttons.answer(THREAD, run_id, 0, "U1", choice=0)
    await h.sent()
    (sent,) = [r for r in h.fake.requests("POST") if r.path.endswith("/runs")]
    assert sent.body["prompt"] == "Which city? -> Austin\nHow many? -> about 15"
    assert sent.headers["idempotency-key"] == f"run:T1:answers:{run_id}"


async def test_continue_is_sent_once_however_often_clicked(h: Harness) -> None:
    h.fake.script(RunScript(polls=0, status="step_cap_hit"), RunScript(polls=1))
    await h.start(THREAD, prompt("find founders", "C1:1.0"))
    await h.drive(lambda: bool(h.presenter.of("result")))
    run_id = h.presenter.of("result")[0].data["run"].id
    await asyncio.gather(
        *(h.buttons.continue_run(THREAD, run_id, f"U{i}", "1700000000.000009") for i in range(3))
    )
    await h.sent()
    follow_ups = h.run_posts()
    assert len(follow_ups) == 1
    assert follow_ups[0].body["prompt"] == "Please continue where you left off."
    assert len(h.presenter.of("choice_made")) == 1
    assert [n.data["note"] for n in h.presenter.of("note")] == [Note.ALREADY_DONE] * 2


async def test_agent_deleted_in_origami_is_reported(h: Harness) -> None:
    h.fake.script(RunScript(polls=None))
    await h.start(THREAD, prompt("find founders", "C1:1.0"))
    h.fake.agents.clear()
    h.fake.runs.clear()
    await h.drive(lambda: bool(h.presenter.of("problem")))
    assert h.presenter.of("problem")[0].data["problem"].kind is ProblemKind.AGENT_NOT_FOUND
    assert await h.stores.schedule.count() == 0


async def test_no_free_slot_keeps_the_prompt_and_starts_it_later(h: Harness) -> None:
    h.fake.concurrency_limit = 1
    h.fake.concurrency_retry_after = "1"
    other = ThreadRef("T1", "C1", "1700000000.000200")
    h.fake.script(RunScript(polls=None), RunScript(polls=1, text="second thread done"))
    await h.start(other, prompt("hold the slot", "C1:0.5"))
    await h.start(THREAD, prompt("find founders", "C1:1.0"))
    (waiting,) = h.presenter.of("waiting_for_slot")
    assert waiting.data["busy"] == 1 and waiting.data["limit"] == 1
    assert waiting.data["retry_after_s"] == 1
    # A reply meanwhile queues behind the kept prompt instead of overtaking it.
    await h.reply(THREAD, prompt("in Austin", "C1:1.5"))
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
    assert creates[-1].headers["idempotency-key"] == "start:T1:C1:1.0:attempt-2"
    assert creates[-1].body["prompt"] == "find founders"
    state = await h.thread_state()
    assert state is not None and state.agent_id is not None
    # And what queued behind it followed once that run ended.
    await h.drive(lambda: any(r.path.endswith("/runs") for r in h.fake.requests("POST")))
    follow = [r for r in h.fake.requests("POST") if r.path.endswith("/runs")]
    assert len(follow) == 1 and follow[0].body["prompt"] == "in Austin"


async def test_origami_down_for_good_the_user_is_told_after_bounded_tries(h: Harness) -> None:
    h.tune(transient_retry_s=0.05, transient_tries=3)
    h.fake.fail_next(100, status=503, path_prefix="/agents", method="POST")
    await h.start(THREAD, prompt("find founders", "C1:1.0"))
    await h.drive(lambda: len(h.presenter.of("problem")) == 2)
    first, last = (p.data["problem"] for p in h.presenter.of("problem"))
    assert (first.kind, first.retrying) == (ProblemKind.UNREACHABLE, True)
    assert (last.kind, last.retrying) == (ProblemKind.UNREACHABLE, False)
    creates = h.fake.requests("POST", "/agents")
    # 3 tries of 3 quick client attempts each, all under one Idempotency-Key.
    assert len(creates) == 9
    assert {r.headers["idempotency-key"] for r in creates} == {"start:T1:C1:1.0"}
    assert await h.thread_state() is None
    assert await h.stores.schedule.count() == 0


async def test_agent_busy_with_a_run_we_do_not_watch_sends_once_after_it(h: Harness) -> None:
    import httpx

    h.tune(busy_retry_s=0.1)
    h.fake.script(RunScript(polls=0), RunScript(polls=None), RunScript(polls=0, text="after"))
    await h.start(THREAD, prompt("find founders", "C1:1.0"))
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
    await h.reply(THREAD, prompt("and Dallas", "C1:5.0"))
    (queued,) = h.presenter.of("queued")
    assert queued.data["run_id"] == external
    # A reply meanwhile waits behind the kept one.
    await h.reply(THREAD, prompt("and Houston", "C1:6.0"))
    h.fake.finish(external)
    await h.drive(lambda: len(h.presenter.of("result")) == 3)
    ours = [r for r in h.fake.requests("POST") if r.path.endswith("/runs") and r.status == 202][1:]
    assert [r.body["prompt"] for r in ours] == ["and Dallas", "and Houston"]
    busy = [r for r in h.fake.requests("POST") if r.status == 409]
    assert busy and all(r.body["prompt"] == "and Dallas" for r in busy)
    # The 409 is stored under its key; the try that went through used a new one.
    assert busy[0].headers["idempotency-key"] == "run:T1:C1:5.0"
    assert ours[0].headers["idempotency-key"].startswith("run:T1:C1:5.0:attempt-")


async def test_crash_before_the_acknowledgement_loses_nothing(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h.fake.script(RunScript(polls=1, text="Recovered"))
    # Dies when the message is claimed and its prompt kept, before anything else.
    await start_and_die(h, monkeypatch, h.presenter, "post", prompt("find", "C1:1.0"))
    assert h.fake.requests("POST", "/agents") == []
    await h.drive(lambda: bool(h.presenter.of("result")))
    assert len(h.fake.requests("POST", "/agents")) == 1
    assert len(h.presenter.of("acknowledge")) == 1
    assert h.presenter.of("result")[0].data["run"].response.text == "Recovered"
    assert await h.stores.schedule.count() == 0


async def test_crash_after_the_agent_was_created_loses_nothing_and_doubles_nothing(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h.fake.script(RunScript(polls=1, text="Recovered"))
    # Dies when Origami made the agent, before the mapping is saved.
    await start_and_die(h, monkeypatch, h.stores.runs, "watch", prompt("find", "C1:1.0"))
    # Another process (here: the same watcher) finds the kept prompt and finishes the job.
    await h.drive(lambda: bool(h.presenter.of("result")))
    creates = h.fake.requests("POST", "/agents")
    assert [r.replayed for r in creates] == [False, True]
    assert len(h.fake.agents) == 1 and len(h.fake.runs) == 1
    assert h.presenter.of("result")[0].data["run"].response.text == "Recovered"
    assert len(h.presenter.of("acknowledge")) == 1
    assert await h.stores.schedule.count() == 0


async def test_a_kept_prompt_is_sent_by_a_watcher_as_soon_as_it_is_announced(
    h: Harness,
) -> None:
    """A web process keeps the prompt and posts nothing; a worker's watcher, idle for long
    stretches, is woken by the announcement and sends it."""
    watcher = h.core.watcher
    h.tune_watcher(idle_s=30)
    h.fake.script(RunScript(polls=0, text="Handed over"))
    loop = asyncio.create_task(watcher.run_forever())
    listener = asyncio.create_task(watcher.listen_for_handoffs())
    try:
        for _ in range(100):  # until the worker listens
            if (await h.stores._client.pubsub_numsub(keys.handoff_channel()))[0][1]:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.05)  # its first claim found nothing; it sleeps for 30 s
        await h.core.conversations.intake.take(
            THREAD, prompt("find founders", "C1:1.0"), may_start=True
        )
        assert h.presenter.shown == [] and h.fake.requests() == []
        deadline = asyncio.get_running_loop().time() + 5
        while not h.presenter.of("acknowledge"):
            assert asyncio.get_running_loop().time() < deadline, "not claimed when announced"
            await asyncio.sleep(0.01)
    finally:
        watcher.stop()
        await asyncio.wait_for(asyncio.gather(loop, listener), 15)
    assert len(h.presenter.of("acknowledge")) == 1
    (created,) = h.fake.requests("POST", "/agents")
    assert created.headers["idempotency-key"] == "start:T1:C1:1.0"


async def test_a_sender_that_dies_after_saying_on_it_is_followed_by_one_that_finds_it(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The "On it" message was posted, its record was not written: the next sender finds
    it by its marker (whether it was posted is recorded, never guessed)."""
    h.fake.script(RunScript(polls=0, text="Recovered"))
    await start_and_die(h, monkeypatch, h.stores.deliveries, "record", prompt("go", "C1:1.0"))
    assert len(h.presenter.of("acknowledge")) == 1
    assert h.fake.requests("POST", "/agents") == []
    await h.drive(lambda: bool(h.presenter.of("result")))
    assert len(h.presenter.of("acknowledge")) == 1
    (created,) = h.fake.requests("POST", "/agents")
    assert created.headers["idempotency-key"] == "start:T1:C1:1.0"
    # The progress line is the acknowledgement found, not a new message.
    (final,) = h.presenter.of("progress_final")
    assert final.data["ts"] == h.presenter.of("acknowledge")[0].data["ts"]


async def test_a_result_posted_but_not_recorded_is_found_not_posted_again(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h.tune_watcher(error_backoff_s=0.05)
    h.fake.script(
        RunScript(
            polls=0,
            status="needs_input",
            pending_questions=[single_choice("Which city?", ["Austin", "Dallas"])],
        )
    )
    real = h.stores.deliveries.record
    died: list[str] = []

    async def die_after_posting_the_result(team: str, owner: str, posted: Any) -> None:
        if not owner.startswith("ack-") and not died:
            died.append(owner)
            raise Died
        await real(team, owner, posted)

    monkeypatch.setattr(h.stores.deliveries, "record", die_after_posting_the_result)
    await h.start(THREAD, prompt("find founders", "C1:1.0"))
    await h.drive(lambda: bool(h.presenter.of("progress_final")))
    assert died, "the delivery never reached its record"
    assert len(h.presenter.of("result")) == 1
    assert len(h.presenter.of("questions")) == 1
    # The questions found are the ones saved for their buttons.
    run_id = h.presenter.of("result")[0].data["run"].id
    qs = await h.stores.questions.get("T1", run_id)
    assert qs is not None and qs.message_ts == h.presenter.of("questions")[0].data["ts"]
    parts = await h.stores._client.hgetall(keys.delivery("T1", run_id))
    assert parts["posted:result-0"] == h.presenter.of("result")[0].data["ts"]


async def test_a_follow_up_that_cannot_be_sent_frees_the_thread_for_what_queued_behind_it(
    h: Harness,
) -> None:
    h.fake.script(RunScript(polls=0), RunScript(polls=None), RunScript(polls=0, text="third"))
    await h.start(THREAD, prompt("find founders", "C1:1.0"))
    await h.drive(lambda: bool(h.presenter.of("result")))
    # The next prompt is refused for good (a 400), while a reply waits behind it.
    h.fake.fail_next(1, status=400, path_prefix="/agents", method="POST")
    await h.core.conversations.intake.take(THREAD, prompt("bad", "C1:2.0"), may_start=False)
    await h.core.conversations.intake.take(THREAD, prompt("and Dallas", "C1:3.0"), may_start=False)
    await h.drive(lambda: len(h.run_posts()) >= 2)
    (problem,) = h.presenter.of("problem")
    assert problem.data["problem"].kind is ProblemKind.INVALID_REQUEST
    assert [r.body["prompt"] for r in h.run_posts()] == ["bad", "and Dallas"]
    assert h.run_posts()[-1].status == 202


async def test_a_low_balance_is_said_once_after_runs(h: Harness) -> None:
    from bot.credits import CreditWatch

    h.core.watcher.work.port.credits = CreditWatch(
        h.stores, h.core.sender.origami, h.presenter, threshold=200
    )
    h.fake.credits = 150
    h.fake.script(RunScript(polls=0), RunScript(polls=0))
    other = ThreadRef("T1", "C1", "1700000000.000300")
    await h.start(THREAD, prompt("first", "C1:1.0"))
    await h.drive(lambda: len(h.presenter.of("result")) == 1)
    await h.start(other, prompt("second", "C1:2.0"))
    await h.drive(lambda: len(h.presenter.of("result")) == 2)
    # Read once in ten minutes, said once a day, in the thread whose run ended first.
    assert len(h.fake.requests("GET", "/account/credits")) == 1
    [said] = h.presenter.of("low_credits")
    assert (said.thread, said.data["balance"]) == (THREAD, 150)


async def test_a_balance_above_the_threshold_or_unread_says_nothing(h: Harness) -> None:
    from bot.credits import CreditWatch

    watch = CreditWatch(h.stores, h.core.sender.origami, h.presenter, threshold=200)
    h.fake.credits = 5000
    await watch.after_run(THREAD)
    h.fake.fail_next(5, 500, path_prefix="/account")
    await h.stores._client.delete(keys.credits_checked("T1"))
    await watch.after_run(THREAD)
    await CreditWatch(h.stores, h.core.sender.origami, h.presenter, threshold=0).after_run(THREAD)
    assert h.presenter.of("low_credits") == []


async def test_a_stop_cancels_polls_that_outlast_the_drain_instead_of_failing_them(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A poll still under way when the drain ends is cancelled: it would otherwise go on
    into the clients the process closes next, and be counted as a failure of its run."""
    watcher = h.core.watcher
    h.tune_watcher(drain_s=0.2)
    started, failures = asyncio.Event(), []

    async def hangs(item: Any) -> Any:
        started.set()
        await asyncio.Event().wait()

    async def failed(item: Any, claim: Any = None) -> None:
        failures.append(item)

    monkeypatch.setattr(watcher.work, "do", hangs)
    monkeypatch.setattr(watcher.work, "after_failure", failed)
    await h.core.conversations.intake.take(THREAD, prompt("find", "C1:1.0"), may_start=True)
    loop = asyncio.create_task(watcher.run_forever())
    await asyncio.wait_for(started.wait(), 5)
    watcher.stop()
    await asyncio.wait_for(loop, 10)
    assert failures == []
    # Its entry is still scheduled (its lease lapses; another process polls it).
    assert await h.stores.schedule.count() == 1
