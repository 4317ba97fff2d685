"""The stores against a real Redis: intake, the schedule's claims and leases, kept
prompts, runs, deliveries, questions."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bot.domain import (
    Answer,
    AnswerRecorded,
    Busy,
    BusyKind,
    Intake,
    KeptPrompt,
    Prompt,
    PromptKind,
    Released,
    RunRecord,
    Taken,
    ThreadRef,
    kept_prompt_id,
)
from bot.origami.client import Priority
from bot.stores import Stores, keys, schedule
from bot.stores.budget import BudgetRule, now_ms
from tests import storage

THREAD = ThreadRef("T1", "C1", "100.1")


def _record(run_id: str, team: str = "T1", thread_ts: str = "100.1") -> RunRecord:
    return RunRecord(
        team=team,
        run_id=run_id,
        agent_id="agent-1",
        channel="C1",
        thread_ts=thread_ts,
        progress_ts="100.2",
        user_id="U1",
        prompt="find founders",
        started_at=1700000000.0,
    )


async def _take(
    stores: Stores,
    cause: str,
    *,
    thread: ThreadRef = THREAD,
    may_start: bool = True,
    event: str | None = None,
    text: str | None = None,
) -> Taken:
    return await stores.threads.take(
        thread,
        kept_prompt_id(cause),
        Prompt(text if text is not None else f"prompt of {cause}", "U1", cause),
        may_start=may_start,
        event=event,
    )


async def _kept(stores: Stores, cause: str, team: str = "T1") -> KeptPrompt:
    kept = await storage.kept(stores, team, kept_prompt_id(cause))
    assert kept is not None
    return kept


async def _watch(stores: Stores, cause: str, run_id: str, first_poll_s: float = 0) -> None:
    await stores.runs.watch(
        _record(run_id), await _kept(stores, cause), new_agent=True, first_poll_s=first_poll_s
    )


async def test_every_key_has_a_ttl(stores: Stores, redis_client: Any) -> None:
    await stores.claims.claim_action("T1", "continue:run-1")
    await _take(stores, "C1:100.1", event="C1:100.1")
    await _watch(stores, "C1:100.1", "run-1")
    await stores.deliveries.begin("T1", "run-1", ["result-0"], {"elapsed": "3.0"})
    await stores.deliveries.record("T1", "run-1", {"result-0": "100.3"})
    await _take(stores, "C1:100.2")  # queued behind run-1
    await _take(stores, "C1:100.3", thread=ThreadRef("T1", "C1", "200.1"))  # kept
    await stores.budget(BudgetRule.of(10)).acquire(Priority.USER)
    client: Any = redis_client
    all_keys = [k async for k in client.scan_iter("ogs:*")]
    # event, action, 2 threads, run, schedule, delivery, queue, kept, budget
    assert len(all_keys) == 10, all_keys
    for key in all_keys:
        assert await client.ttl(key) > 0, key


async def test_take_decides_kept_queued_duplicate_or_not_ours(stores: Stores) -> None:
    # A reply in a thread without an agent: nothing written.
    assert (await _take(stores, "C1:0.5", may_start=False)).outcome is Intake.NOT_OURS
    assert await stores.threads.get(THREAD) is None
    # Two mentions racing in a new thread: one starts it, the other queues behind it.
    first, second = await asyncio.gather(_take(stores, "C1:1.0"), _take(stores, "C1:1.1"))
    outcomes = sorted([first.outcome, second.outcome])
    assert outcomes == [Intake.KEPT, Intake.QUEUED]
    state = await stores.threads.get(THREAD)
    assert state is not None and state.agent_id is None
    assert state.busy is not None and state.busy.kind is BusyKind.PROMPT
    starter = "C1:1.0" if first.outcome is Intake.KEPT else "C1:1.1"
    kept = await _kept(stores, starter)
    assert (kept.kind, kept.agent_id, kept.attempt, kept.tries) == (PromptKind.START, "", 1, 0)
    assert state.busy == kept.busy
    # Kept prompts are due at once.
    due = await storage.next_due_ms(stores)
    assert due is not None and due <= now_ms()
    # Origami took it: the agent is bound, the run watched, the kept prompt gone.
    await _watch(stores, starter, "run-1", first_poll_s=5)
    assert await storage.kept(stores, "T1", kept.id) is None
    state = await stores.threads.get(THREAD)
    assert state is not None and state.agent_id == "agent-1"
    assert state.busy == Busy(BusyKind.RUN, "run-1")
    busy = await _take(stores, "C1:2.0", may_start=False)
    assert (busy.outcome, busy.position, busy.busy) == (
        Intake.QUEUED,
        2,
        Busy(BusyKind.RUN, "run-1"),
    )
    # Released by someone else's run: nothing changes. By its own: what queued goes on at
    # once, as one follow-up kept for a sender (the thread stays busy with it).
    assert await stores.threads.release(THREAD, Busy(BusyKind.RUN, "run-0")) == Released()
    released = await stores.threads.release(THREAD, Busy(BusyKind.RUN, "run-1"))
    assert (released.sent, released.left, released.forgotten) == (2, 0, ())
    other = "C1:1.1" if starter == "C1:1.0" else "C1:1.0"
    batch = await _kept(stores, f"queued:{other},C1:2.0")
    assert (batch.kind, batch.agent_id) == (PromptKind.FOLLOW, "agent-1")
    assert batch.text == f"prompt of {other}\n\nprompt of C1:2.0"
    state = await stores.threads.get(THREAD)
    assert state is not None and state.busy == batch.busy
    # Idle with an agent: the agent's next run, kept the same way.
    await stores.runs.watch(_record("run-2"), batch, new_agent=False, first_poll_s=5)
    assert (await stores.threads.release(THREAD, Busy(BusyKind.RUN, "run-2"))).sent == 0
    follow = await _take(stores, "C1:3.0", may_start=False)
    assert (follow.outcome, follow.kind, follow.agent_id) == (
        Intake.KEPT,
        PromptKind.FOLLOW,
        "agent-1",
    )
    # The same Slack message again (its twin event, a retry): nothing happens.
    assert (await _take(stores, "C1:4.0", event="m1")).outcome is Intake.QUEUED
    assert (await _take(stores, "C1:4.0", event="m1")).outcome is Intake.DUPLICATE


async def test_a_thread_whose_start_failed_is_forgotten_with_its_queue(stores: Stores) -> None:
    await _take(stores, "C1:1.0")
    await _take(stores, "C1:1.1")
    kept = await _kept(stores, "C1:1.0")
    released = await stores.threads.release(THREAD, kept.busy, forget=True)
    assert [w.cause for w in released.forgotten] == ["C1:1.1"]
    assert await stores.threads.get(THREAD) is None


async def test_a_prompt_comes_back_as_it_was_written(stores: Stores) -> None:
    """Text with quotes, slashes, new lines and non-ASCII survives the script's JSON, kept
    and queued alike."""
    text = 'Find "seed" CTOs in São Paulo / Zürich\nand <@U123> — 20 of them \\o/ 🚀'
    await _take(stores, "C1:1.0", text=text)
    await _take(stores, "C1:2.0", text=text)
    assert (await _kept(stores, "C1:1.0")).text == text
    kept = await _kept(stores, "C1:1.0")
    released = await stores.threads.release(THREAD, kept.busy, forget=True)
    assert released.forgotten == [Prompt(text=text, user_id="U1", cause="C1:2.0")]


async def test_a_kept_prompt_is_announced_and_claimed_with_its_budget_slot(
    stores: Stores, redis_client: Any
) -> None:
    rule = BudgetRule(per_minute=1, poll_limit=1)
    other = ThreadRef("T:9|x", "C1", "200.1")  # a team with the separators in it
    client: Any = redis_client
    async with client.pubsub() as pubsub:
        await pubsub.subscribe(keys.handoff_channel())
        await pubsub.get_message(timeout=1)  # the subscribe confirmation
        await _take(stores, "C1:1.0", thread=other)
        announced = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2)
        assert announced is not None
        assert announced["data"] == schedule.prompt_entry(other.team, kept_prompt_id("C1:1.0"))
    await _take(stores, "C1:2.0", thread=ThreadRef("T:9|x", "C1", "300.1"))
    batch = await stores.schedule.claim(lease_s=5, kept_lease_s=60, limit=10, budget=rule)
    # Both are claimed (a person is waiting); the budget had one slot for them.
    assert [i.kept.cause for i in batch.items if i.kept] == ["C1:1.0", "C1:2.0"]
    assert [i.admitted for i in batch.items] == [True, False]
    assert all(i.claim.team == "T:9|x" for i in batch.items)
    # Kept prompts are held for ``kept_lease_s``, not the runs' lease.
    assert all(i.claim.lease_ms > now_ms() + 50_000 for i in batch.items)
    # Under lease, nobody else gets them.
    again = await stores.schedule.claim(lease_s=5, kept_lease_s=60, limit=10)
    assert again.items == []


async def test_claim_takes_each_run_once_and_leases_it(stores: Stores) -> None:
    for i in range(5):
        thread = ThreadRef("T1", "C1", f"10{i}.1")
        await _take(stores, f"C1:{i}", thread=thread)
        await stores.runs.watch(
            _record(f"run-{i}", thread_ts=thread.thread_ts),
            await _kept(stores, f"C1:{i}"),
            new_agent=True,
            first_poll_s=0,
        )
    now = now_ms() + 10
    batches = await asyncio.gather(
        *(stores.schedule.claim(lease_s=30, kept_lease_s=30, limit=10, now=now) for _ in range(4))
    )
    claimed = [i.claim.id for b in batches for i in b.items]
    assert sorted(claimed) == [f"run-{i}" for i in range(5)]
    assert all(i.run is not None and i.run.run_id == i.claim.id for b in batches for i in b.items)
    # Under lease: nobody else sees them until it runs out.
    later = await stores.schedule.claim(lease_s=30, kept_lease_s=30, limit=10, now=now + 29_000)
    assert later.items == []
    again = await stores.schedule.claim(lease_s=30, kept_lease_s=30, limit=10, now=now + 30_001)
    assert len(again.items) == 5


async def test_a_run_polled_before_is_claimed_without_reading_its_record_again(
    stores: Stores, redis_client: Any
) -> None:
    await _take(stores, "C1:1")
    await _watch(stores, "C1:1", "run-1")
    first = await stores.schedule.claim(lease_s=30, kept_lease_s=30, limit=10)
    [item] = first.items
    assert item.run is not None
    await stores.schedule.settle([(item.claim, now_ms())])
    # Records are written once: this process's copy stands in for a read. Seen here by
    # the record's key being gone, which a read would have noticed.
    await redis_client.delete(keys.run("T1", "run-1"))
    again = await stores.schedule.claim(lease_s=30, kept_lease_s=30, limit=10)
    assert [i.run for i in again.items] == [item.run]
    # Dropped from the schedule, the run is forgotten here too.
    await stores.schedule.settle([(again.items[0].claim, None)])
    await redis_client.zadd(keys.schedule(), {again.items[0].claim.entry: now_ms()})
    last = await stores.schedule.claim(lease_s=30, kept_lease_s=30, limit=10)
    assert [i.run for i in last.items] == [None]


async def test_claim_holds_back_what_the_budget_refuses(stores: Stores) -> None:
    rule = BudgetRule(per_minute=4, poll_limit=3)
    for i in range(5):
        await _take(stores, f"C1:{i}", thread=ThreadRef("T1", "C1", f"10{i}.1"))
        await stores.runs.watch(
            _record(f"run-{i}", thread_ts=f"10{i}.1"),
            await _kept(stores, f"C1:{i}"),
            new_agent=True,
            first_poll_s=0,
        )
    batch = await stores.schedule.claim(
        lease_s=30, kept_lease_s=30, limit=10, now=now_ms() + 10, budget=rule
    )
    assert len(batch.items) == 3 and all(i.admitted for i in batch.items)
    assert 55_000 < batch.budget_wait_ms <= 60_000
    # The last slot is kept for people: polls find no room, a prompt does.
    assert (
        await stores.schedule.claim(lease_s=30, kept_lease_s=30, limit=10, budget=rule)
    ).items == []
    await _take(stores, "C1:9", thread=ThreadRef("T1", "C1", "900.1"))
    (prompt,) = (
        await stores.schedule.claim(lease_s=30, kept_lease_s=30, limit=10, budget=rule)
    ).items
    assert prompt.kept is not None and prompt.admitted


async def test_claim_flags_as_many_progress_updates_as_the_allowance_has_room_for(
    stores: Stores,
) -> None:
    for i in range(3):
        await _take(stores, f"C1:{i}", thread=ThreadRef("T1", "C1", f"10{i}.1"))
        await stores.runs.watch(
            _record(f"run-{i}", thread_ts=f"10{i}.1"),
            await _kept(stores, f"C1:{i}"),
            new_agent=True,
            first_poll_s=0,
        )
    await _take(stores, "C1:9", thread=ThreadRef("T1", "C1", "900.1"))  # a kept prompt
    batch = await stores.schedule.claim(
        lease_s=0.001, kept_lease_s=30, limit=10, now=now_ms() + 10, progress_per_minute=2
    )
    flags = {i.claim.id: i.show_progress for i in batch.items}
    assert len(flags) == 4
    assert sorted(v for k, v in flags.items() if k.startswith("run-")) == [False, True, True]
    # The minute's allowance is spent: the next batch shows none; no limit shows all.
    later = await stores.schedule.claim(
        lease_s=0.001, kept_lease_s=30, limit=10, now=now_ms() + 100, progress_per_minute=2
    )
    assert [i.show_progress for i in later.items] == [False, False, False]
    free = await stores.schedule.claim(lease_s=30, kept_lease_s=30, limit=10, now=now_ms() + 200)
    assert [i.show_progress for i in free.items] == [True, True, True]


async def test_settle_only_touches_entries_still_under_our_lease(stores: Stores) -> None:
    await _take(stores, "C1:1.0")
    await _watch(stores, "C1:1.0", "run-1")
    now = now_ms() + 10
    (mine,) = (await stores.schedule.claim(lease_s=1, kept_lease_s=1, limit=10, now=now)).items
    # Our lease ran out and another process took the run.
    (theirs,) = (
        await stores.schedule.claim(lease_s=30, kept_lease_s=30, limit=10, now=now + 2_000)
    ).items
    assert await stores.schedule.settle([(mine.claim, None)]) == (0, now + 2_000 + 30_000)
    assert await stores.schedule.extend_lease(mine.claim, 60) is None
    assert await stores.schedule.count() == 1
    assert await stores.schedule.settle([(theirs.claim, now + 50_000)]) == (1, now + 50_000)
    (later,) = (
        await stores.schedule.claim(lease_s=30, kept_lease_s=30, limit=10, now=now + 50_000)
    ).items
    assert await stores.schedule.settle([(later.claim, None)]) == (1, None)
    assert await stores.schedule.count() == 0


async def test_a_delivery_keeps_its_first_intents_and_fields(stores: Stores) -> None:
    first = await stores.deliveries.begin("T1", "run-1", ["a", "b"], {"elapsed": "3.0"})
    assert (first.posted, first.intended, first.fields) == ({}, {}, {"elapsed": "3.0"})
    await stores.deliveries.record("T1", "run-1", {"a": "1.1"})
    again = await stores.deliveries.begin("T1", "run-1", ["a", "b"], {"elapsed": "9.0"})
    assert again.posted == {"a": "1.1"}
    assert set(again.intended) == {"a", "b"}
    assert again.fields == {"elapsed": "3.0"}


async def test_answers_are_recorded_once_and_sent_once(stores: Stores) -> None:
    from bot.domain import QuestionSet

    await stores.questions.save(
        QuestionSet(
            team="T1",
            run_id="run-1",
            agent_id="agent-1",
            channel="C1",
            thread_ts="100.1",
            message_ts="100.5",
            questions=[{"question": "Which city?", "suggestedAnswers": ["Austin"]}],
            answers={},
            sent=False,
        )
    )
    results = await asyncio.gather(
        *(
            stores.questions.record_answer("T1", "run-1", 0, Answer(f"U{i}", "Austin"))
            for i in range(5)
        )
    )
    assert sorted(results) == sorted([AnswerRecorded.RECORDED] + [AnswerRecorded.TAKEN] * 4)
    assert await stores.questions.mark_sent("T1", "run-1", "U1") is True
    assert await stores.questions.mark_sent("T1", "run-1", "U2") is False
    late = await stores.questions.record_answer("T1", "run-1", 1, Answer("U3", "x"))
    assert late is AnswerRecorded.CLOSED
    qs = await stores.questions.get("T1", "run-1")
    assert qs is not None and qs.sent and len(qs.answers) == 1


async def test_keys_are_namespaced_by_team() -> None:
    assert keys.thread("T1", "C1", "1.0") != keys.thread("T2", "C1", "1.0")
    assert keys.thread("T1", "C1", "1.0").startswith("ogs:T1:")


def test_no_script_builds_a_key_name() -> None:
    """Keys are passed in KEYS; a script that spelled one (the prefix) would rebuild it.
    Every script of every store is looked at, as registered (``register_script``)."""
    import importlib
    import pkgutil
    import re

    import bot.stores

    scripts: dict[str, str] = {}
    for info in pkgutil.iter_modules(bot.stores.__path__):
        module = importlib.import_module(f"bot.stores.{info.name}")
        source = Path(module.__file__ or "").read_text()
        for name in re.findall(r"register_script\(([A-Z_]+)\)", source):
            scripts[f"{info.name}.{name}"] = getattr(module, name)
    assert len(scripts) >= 8, sorted(scripts)
    for where, script in scripts.items():
        assert keys.PREFIX + ":" not in script and "'" + keys.PREFIX not in script, where
        assert "KEYS[" in script, where
        # Every argument comes as one named object.
        assert "ARGV[2]" not in script, where
        assert "ARGV[1]" not in script or "cjson.decode(ARGV[1])" in script, where


async def test_feedback_is_recorded_once_per_person_and_result(stores: Stores) -> None:
    from bot.domain import Verdict

    async def give(user: str, verdict: Verdict, run_id: str = "run-1") -> bool:
        return await stores.feedback.record("T1", run_id, user, verdict)

    results = await asyncio.gather(*(give("U1", Verdict.GOOD) for _ in range(5)))
    assert sorted(results) == [False, False, False, False, True]
    assert await give("U1", Verdict.BAD) is False  # a change of mind is not a second vote
    assert await give("U2", Verdict.BAD) is True
    assert await give("U1", Verdict.GOOD, "run-2") is True
    key = keys.feedback("T1", "run-1")
    assert await stores._client.hgetall(key) == {"U1": "good", "U2": "bad"}
    assert 0 < await stores._client.ttl(key) <= keys.seconds(keys.FEEDBACK_TTL)


async def test_open_buttons_are_taken_once(stores: Stores) -> None:
    await stores.open_buttons.keep(THREAD, "run-1", ["100.3", "100.4"])
    key = keys.open_buttons(THREAD.team, THREAD.channel, THREAD.thread_ts)
    assert 0 < await stores._client.ttl(key) <= keys.seconds(keys.OPEN_BUTTONS_TTL)
    taken = await asyncio.gather(*(stores.open_buttons.take(THREAD) for _ in range(4)))
    assert sorted(taken, key=len) == [[], [], [], ["100.3", "100.4"]]
    await stores._client.set(key, "not json")
    assert await stores.open_buttons.take(THREAD) == []
    assert await stores.open_buttons.take(ThreadRef("T1", "C1", "999.9")) == []
