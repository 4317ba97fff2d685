"""What probing as an attacker and as a careless user found: queued replies lost, threads
wedged, buttons acting on another thread's run, slow creates orphaned. Each test fails on
the code before its fix."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pytest

from bot.domain import PROMPT_MAX_UNITS, QUEUE_MAX, Note, ThreadRef
from bot.problems import ProblemKind
from tests.fakes.origami import RunScript, make_table, single_choice
from tests.integration.harness import THREAD, Harness, prompt

OTHER = ThreadRef("T1", "C2", "1700000000.000900")  # another channel's thread


async def _busy(h: Harness, *scripts: RunScript) -> str:
    """A conversation whose first run is held running; its run id."""
    h.fake.script(RunScript(polls=None), *scripts)
    await h.start(THREAD, prompt("find founders", "C1:1.0"))
    (run_id,) = h.fake.runs
    return run_id


async def _queue(h: Harness, texts: list[str]) -> None:
    for i, text in enumerate(texts):
        user = f"U{i % 3 + 1}"
        await h.core.conversations.intake.take(
            THREAD, prompt(text, f"C1:2.{i:03d}", user=user), may_start=False
        )


# -- 1. queued replies -----------------------------------------------------------------------


async def test_queued_replies_over_the_prompt_limit_all_reach_the_agent_in_order(
    h: Harness,
) -> None:
    """Three replies of about 4,000 characters while a run holds the thread: joined they
    are over Origami's 10,000, so they go as two follow-ups, in order, all of them."""
    run_id = await _busy(h, RunScript(polls=0), RunScript(polls=0))
    texts = [f"reply {i}: " + "x" * 3_990 for i in range(3)]
    await _queue(h, texts)
    h.fake.finish(run_id)
    await h.drive(lambda: len(h.run_posts()) >= 2 and len(h.presenter.of("result")) >= 3)
    prompts = [r.body["prompt"] for r in h.run_posts()]
    assert "\n\n".join(prompts) == "\n\n".join(texts)
    assert all(len(p) <= PROMPT_MAX_UNITS for p in prompts)
    assert [r.status for r in h.run_posts()] == [202, 202]
    assert not h.presenter.of("problem")


async def test_many_short_queued_replies_go_as_one_follow_up_under_one_notice(
    h: Harness,
) -> None:
    run_id = await _busy(h, RunScript(polls=0))
    await _queue(h, [f"and city {i}" for i in range(40)])
    # One "waiting" notice for the busy period, updated in place with the count.
    notices = h.presenter.of("queued")
    assert [n.data["new"] for n in notices].count(True) == 1
    assert {n.data["ts"] for n in notices} == {notices[0].data["ts"]}
    assert notices[-1].data["position"] == 40
    h.fake.finish(run_id)
    await h.drive(lambda: len(h.presenter.of("result")) == 2)
    (follow,) = h.run_posts()
    assert follow.body["prompt"] == "\n\n".join(f"and city {i}" for i in range(40))
    # The notice says they went.
    (sent,) = h.presenter.of("queue_sent")
    assert (sent.data["ts"], sent.data["sent"], sent.data["left"]) == (notices[0].data["ts"], 40, 0)


async def test_the_queue_is_bounded_and_a_reply_past_it_is_refused_to_its_author(
    h: Harness,
) -> None:
    await _busy(h)
    await _queue(h, [f"reply {i}" for i in range(QUEUE_MAX)])
    await h.core.conversations.intake.take(
        THREAD, prompt("one too many", "C1:9.0", user="U9"), may_start=False
    )
    (note,) = h.presenter.of("note")
    assert (note.data["note"], note.data["user"]) == (Note.QUEUE_FULL, "U9")
    assert await h.stores.threads.queue_length(THREAD) == QUEUE_MAX


async def test_a_reply_over_the_limit_is_refused_before_it_is_kept(h: Harness) -> None:
    """Counted as Origami counts: UTF-16 code units (an emoji is two)."""
    await _busy(h)
    emoji = "🚀" * (PROMPT_MAX_UNITS // 2 + 1)
    assert len(emoji) < PROMPT_MAX_UNITS
    await h.core.conversations.intake.take(
        THREAD, prompt(emoji, "C1:3.0", user="U2"), may_start=False
    )
    (refused,) = h.presenter.of("problem_for")
    assert refused.data["user"] == "U2"
    assert refused.data["problem"].kind is ProblemKind.PROMPT_TOO_LONG
    assert await h.stores.threads.queue_length(THREAD) == 0


async def test_replies_queued_behind_a_start_that_failed_are_named_not_dropped(
    h: Harness,
) -> None:
    h.fake.fail_next(1, status=400, path_prefix="/agents", method="POST")
    await h.core.conversations.intake.take(
        THREAD, prompt("find founders", "C1:1.0"), may_start=True
    )
    await _queue(h, ["in Austin", "and Dallas"])
    await h.core.watcher.tick()
    problems = [p.data["problem"] for p in h.presenter.of("problem")]
    not_sent = [p for p in problems if p.kind is ProblemKind.NOT_SENT]
    assert len(not_sent) == 1 and not_sent[0].detail == "2"
    assert set(not_sent[0].who) == {"U1", "U2"}


# -- 2. runs that cannot be handled -------------------------------------------------------------


async def test_a_run_that_fails_every_time_is_given_up_with_retry_and_frees_the_thread(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    h.tune_watcher(error_backoff_s=0.01, max_failures=3)
    await _busy(h, RunScript(polls=0, text="after"))

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug handling this run")

    # (The one workspace's client, behind the key lookup.)
    monkeypatch.setattr(h.core.watcher.work.origami.client, "get_run", broken)
    await h.reply(THREAD, prompt("and Dallas", "C1:2.0"))
    await h.drive(lambda: bool(h.presenter.of("problem")))
    (given_up,) = h.presenter.of("problem")
    assert given_up.data["problem"].kind is ProblemKind.RUN_FAILING
    assert given_up.data["problem"].retry_run is not None
    assert given_up.data["ts"] == h.presenter.of("acknowledge")[0].data["ts"]
    # The thread went on: the reply queued behind the run was kept for its sender.
    state = await h.thread_state()
    assert state is not None and state.busy is not None and state.busy.run_id is None
    monkeypatch.undo()
    await h.drive(lambda: any(r.body["prompt"] == "and Dallas" for r in h.run_posts()))


async def test_no_run_is_watched_past_its_maximum_age(h: Harness) -> None:
    await _busy(h)
    h.tune_watcher(max_run_age_s=0.0)
    await h.drive(lambda: bool(h.presenter.of("problem")))
    (problem,) = h.presenter.of("problem")
    assert problem.data["problem"].kind is ProblemKind.RUN_TOO_OLD
    assert await h.stores.schedule.count() == 0
    state = await h.thread_state()
    assert state is not None and state.busy is None


# -- 4. buttons bound to where they were clicked ----------------------------------------------


async def _finished_run(h: Harness, **script: Any) -> str:
    h.fake.script(RunScript(polls=0, **script), RunScript(polls=0))
    await h.start(THREAD, prompt("find founders", "C1:1.0"))
    await h.drive(lambda: bool(h.presenter.of("result")))
    run_id: str = h.presenter.of("result")[0].data["run"].id
    return run_id


async def test_continue_retry_and_next_step_act_only_in_their_own_thread(h: Harness) -> None:
    run_id = await _finished_run(h, status="step_cap_hit")
    posts = len(h.run_posts())
    await h.buttons.continue_run(OTHER, run_id, "U6", "1.1")
    await h.buttons.retry_run(OTHER, run_id, "U6", "1.1")
    await h.core.conversations.next_steps.click(OTHER, run_id, 0, "U6", "1.1")
    # Same channel, another thread: no better.
    await h.buttons.continue_run(replace(THREAD, thread_ts="1.5"), run_id, "U6", "1.1")
    await h.sent()
    assert [n.data["note"] for n in h.presenter.of("note")] == [Note.NOT_HERE] * 4
    assert len(h.run_posts()) == posts
    assert not h.presenter.of("choice_made")
    # The forged clicks claimed nothing: the real one still works, once.
    await h.buttons.continue_run(THREAD, run_id, "U1", "1.1")
    await h.sent()
    assert len(h.run_posts()) == posts + 1


async def test_stop_cancels_only_a_run_of_its_own_thread(h: Harness) -> None:
    run_id = await _busy(h)
    await h.buttons.stop(OTHER, run_id, "U6", "1.1")
    await h.buttons.stop(replace(THREAD, thread_ts="1700000000.000555"), run_id, "U6", "1.1")
    assert [n.data["note"] for n in h.presenter.of("note")] == [Note.NOT_HERE] * 2

    def cancels() -> list[Any]:
        return [r for r in h.fake.requests("POST") if r.path.endswith("/cancel")]

    assert cancels() == []
    # In its own thread it does.
    await h.buttons.stop(THREAD, run_id, "U1", "1.1")
    assert len(cancels()) == 1


async def test_share_and_export_act_only_on_a_table_of_their_own_thread(h: Harness) -> None:
    run_id = await _finished_run(h, tables=[make_table("Leads", 12, qualified=5)])
    (table_id,) = h.fake.tables
    await h.core.conversations.tables.share(OTHER, run_id, table_id, "U6")
    await h.core.conversations.tables.export_csv(OTHER, run_id, table_id, "U6")
    assert [n.data["note"] for n in h.presenter.of("note")] == [Note.NOT_HERE] * 2
    assert not h.presenter.of("share_table") and not h.presenter.of("upload_csv")
    # In its own thread both work; the card shared to the channel exports from there too.
    await h.core.conversations.tables.share(THREAD, run_id, table_id, "U1")
    (card,) = h.presenter.of("share_table")
    channel_card = ThreadRef(THREAD.team, THREAD.channel, card.data["ts"])
    await h.core.conversations.tables.export_csv(channel_card, run_id, table_id, "U1")
    assert len(h.presenter.of("upload_csv")) == 1
    # A card's ts in another channel is no pass.
    await h.core.conversations.tables.export_csv(
        ThreadRef(THREAD.team, "C2", card.data["ts"]), run_id, table_id, "U6"
    )
    assert len(h.presenter.of("upload_csv")) == 1


async def test_answers_act_only_on_questions_of_their_own_thread(h: Harness) -> None:
    h.fake.script(
        RunScript(
            polls=0,
            status="needs_input",
            pending_questions=[single_choice("Which city?", ["Austin", "Dallas"])],
        )
    )
    await h.start(THREAD, prompt("find founders", "C1:1.0"))
    await h.drive(lambda: bool(h.presenter.of("questions")))
    run_id = h.presenter.of("questions")[0].data["run_id"]
    await h.buttons.answer(OTHER, run_id, 0, "U6", choice=0)
    await h.buttons.answer(OTHER, run_id, 0, "U6", text="typed in another thread")
    await h.buttons.send_answers(OTHER, run_id, "U6")
    assert await h.buttons.question_text(OTHER, run_id, 0) is None
    assert [n.data["note"] for n in h.presenter.of("note")] == [Note.NOT_HERE] * 3
    qs = await h.stores.questions.get(THREAD.team, run_id)
    assert qs is not None and qs.answers == {} and not qs.sent
    assert await h.buttons.question_text(THREAD, run_id, 0) == "Which city?"


# -- 5. a slow agent creation ------------------------------------------------------------------


async def test_a_create_slower_than_the_client_is_waited_for_not_orphaned(
    h: Harness,
) -> None:
    """``POST /agents`` takes longer than the client's timeout and retries: Origami answers
    the retries 409 "still in flight". The prompt is asked about again under the same key
    until Origami answers, and nobody is told it was not sent."""
    from bot.origami.client import OrigamiClient, RetryPolicy, build_http_client
    from bot.tenancy.origami import OneKey

    slow = OrigamiClient(
        build_http_client(h.fake.url, h.fake.api_key, timeout=0.3),
        retry=RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02, total_budget=0.8),
    )
    h.core.sender.origami = OneKey(slow)
    h.tune(transient_retry_s=0.2)
    h.tune_watcher(error_backoff_s=0.05)
    h.fake.script(RunScript(polls=0, text="Made it"))
    h.fake.delay_next(1, seconds=2.0, path_prefix="/agents", method="POST", after_execute=False)
    try:
        started = time.monotonic()
        await h.core.conversations.intake.take(
            THREAD, prompt("find founders", "C1:1.0"), may_start=True
        )
        await h.drive(lambda: bool(h.presenter.of("result")), limit_s=15)
    finally:
        await slow.aclose()
    assert time.monotonic() - started >= 2.0
    creates = h.fake.requests("POST", "/agents")
    assert {r.headers["idempotency-key"] for r in creates} == {"start:T1:C1:1.0"}
    assert any(r.status == 409 for r in creates)
    assert len(h.fake.agents) == 1 and len(h.fake.runs) == 1
    problems = [p.data["problem"] for p in h.presenter.of("problem")]
    assert [p.kind for p in problems] == [ProblemKind.UNCONFIRMED]
    assert problems[0].retrying
    assert "Made it" in str(h.presenter.of("result")[0].data["run"].response.text)


async def test_a_reply_joined_with_others_keeps_each_under_its_own_key(h: Harness) -> None:
    """Two busy periods with the same replies would not share a key: each batch's key names
    the replies in it, so a batch sent again (a crash) replays, a new one does not."""
    run_id = await _busy(h, RunScript(polls=None))
    await _queue(h, ["one", "two"])
    h.fake.finish(run_id)
    await h.drive(lambda: len(h.run_posts()) == 1)
    (follow,) = h.run_posts()
    assert follow.headers["idempotency-key"] == "run:T1:queued:C1:2.000,C1:2.001"


async def test_a_typed_answer_counts_only_through_a_modal_opened_by_its_author(
    h: Harness,
) -> None:
    """The modal's metadata is a token; what it answers was kept when it opened. Forged
    metadata, another person's token or another team's do nothing."""
    h.fake.script(
        RunScript(
            polls=0,
            status="needs_input",
            pending_questions=[single_choice("Which city?", ["Austin", "Dallas"])],
        ),
        RunScript(polls=0),
    )
    await h.start(THREAD, prompt("find founders", "C1:1.0"))
    await h.drive(lambda: bool(h.presenter.of("questions")))
    run_id = h.presenter.of("questions")[0].data["run_id"]
    assert await h.buttons.open_typed_answer(OTHER, run_id, 0, "U1") is None
    opened = await h.buttons.open_typed_answer(THREAD, run_id, 0, "U1")
    assert opened is not None
    question, token = opened
    assert question == "Which city?" and "run" not in token and len(token) >= 20
    forged = '{"team":"T1","channel":"C1","thread_ts":"1700000000.000100","run_id":"x","q":0}'
    assert not await h.buttons.typed_answer("T1", forged, "U1", "Houston")
    assert not await h.buttons.typed_answer("T1", token, "U2", "Houston")
    assert not await h.buttons.typed_answer("T2", token, "U1", "Houston")
    qs = await h.stores.questions.get(THREAD.team, run_id)
    assert qs is not None and qs.answers == {}
    assert await h.buttons.typed_answer("T1", token, "U1", "Houston")
    await h.sent()
    assert [r.body["prompt"] for r in h.run_posts()] == ["Houston"]
