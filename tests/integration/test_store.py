"""The Redis store against a real server: claims, leases, schedule, queue, answers."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from bot import keys
from bot.store import Begun, BudgetRule, Deferred, RunRecord, Store, now_ms


def _record(run_id: str, team: str = "T1") -> RunRecord:
    return RunRecord(
        team=team,
        run_id=run_id,
        agent_id="agent-1",
        channel="C1",
        thread_ts="100.1",
        progress_ts="100.2",
        user_id="U1",
        prompt="find founders",
    )


def _kept(cause: str, user: str = "U1", thread_ts: str = "100.1") -> Deferred:
    return Deferred(
        id=cause.replace(":", "-"),
        kind="",
        team="T1",
        channel="C1",
        thread_ts=thread_ts,
        agent_id="",
        text=f"prompt of {cause}",
        user_id=user,
        cause=cause,
        attempt=1,
        tries=0,
        ack_ts="",
    )


async def _begin(
    store: Store, cause: str, *, may_start: bool = True, budget: BudgetRule | None = None
) -> Begun:
    return await store.begin_prompt(_kept(cause), may_start=may_start, hold_s=90, budget=budget)


async def test_every_key_has_a_ttl(store: Store) -> None:
    await store.claim_event("T1", "msg:C1:1.0")
    await store.claim_action("T1", "continue:run-1")
    await _begin(store, "C1:100.1", budget=BudgetRule(per_minute=10, poll_limit=9))
    await store.started(_record("run-1"), 5, new_agent=True, deferred_id="C1-100.1")
    await store.record_parts("T1", "run-1", {"text:0": "1.1"})
    await _begin(store, "C1:100.2")  # queued behind run-1
    await _begin(store, "C1:100.3", may_start=False)
    all_keys = [k async for k in store.redis.scan_iter("ogs:*")]
    # event, action, thread, agent, run, schedule, delivery, pending, budget
    assert len(all_keys) == 9
    for key in all_keys:
        ttl = await store.redis.ttl(key)
        assert ttl > 0, key


async def test_claim_event_is_first_one_wins(store: Store) -> None:
    results = await asyncio.gather(*(store.claim_event("T1", "msg:C1:1.0") for _ in range(10)))
    assert results.count(True) == 1


async def test_begin_prompt_decides_start_follow_queue_or_nothing(store: Store) -> None:
    # A reply in a thread without an agent: nothing written.
    assert (await _begin(store, "C1:0.5", may_start=False)).outcome == "unknown"
    assert [k async for k in store.redis.scan_iter("ogs:*")] == []
    # Two mentions racing in a new thread: one starts it, the other queues behind it.
    first, second = await asyncio.gather(_begin(store, "C1:1.0"), _begin(store, "C1:1.1"))
    assert sorted([first.outcome, second.outcome]) == ["queued", "start"]
    state = await store.get_thread("T1", "C1", "100.1")
    assert state is not None and state.agent_id is None
    assert state.active_run is not None and state.active_run.startswith(keys.DEFERRED_MARK)
    # The starter's prompt is kept, and due again only after the hold.
    starter = first if first.outcome == "start" else second
    kept_id = "C1-1.0" if starter is first else "C1-1.1"
    kept = await store.get_deferred("T1", kept_id)
    assert kept is not None and kept.kind == "start" and kept.text.startswith("prompt of")
    due = await store.next_due_ms()
    assert due is not None and due > now_ms() + 80_000
    # Origami took it: the agent is bound, the run watched, the kept prompt gone.
    await store.started(_record("run-1"), 5, new_agent=True, deferred_id=kept_id)
    assert await store.get_deferred("T1", kept_id) is None
    assert await store.thread_of_agent("T1", "agent-1") == ("C1", "100.1")
    busy = await _begin(store, "C1:2.0", may_start=False)
    assert (busy.outcome, busy.position, busy.active_run) == ("queued", 2, "run-1")
    queued = await store.release_thread("T1", "C1", "100.1", "run-1")
    assert len(queued) == 2
    # Idle with an agent: a follow-up on that agent, kept the same way.
    follow = await _begin(store, "C1:3.0", may_start=False)
    assert (follow.outcome, follow.agent_id) == ("follow", "agent-1")
    kept = await store.get_deferred("T1", "C1-3.0")
    assert kept is not None and kept.kind == "follow" and kept.agent_id == "agent-1"


async def test_begin_prompt_takes_a_budget_slot_for_its_post(store: Store) -> None:
    rule = BudgetRule(per_minute=2, poll_limit=1)
    await store.bind_agent("T1", "C1", "100.1", "agent-1")
    await store.bind_agent("T1", "C1", "100.2", "agent-2")
    await store.bind_agent("T1", "C1", "100.3", "agent-3")
    waits = []
    for ts in ("100.1", "100.2", "100.3"):
        begun = await store.begin_prompt(
            _kept(f"C1:{ts}", thread_ts=ts), may_start=False, hold_s=90, budget=rule
        )
        assert begun.outcome == "follow"
        waits.append(begun.budget_wait_ms)
    # Two slots a minute: the third waits about a minute for the first to leave.
    assert waits[:2] == [0, 0] and 55_000 < waits[2] <= 60_000


async def test_a_handed_off_prompt_is_due_now_announced_and_counts_its_claims(
    store: Store,
) -> None:
    rule = BudgetRule(per_minute=1, poll_limit=1)
    async with store.redis.pubsub() as pubsub:
        await pubsub.subscribe(keys.handoff_channel())
        await pubsub.get_message(timeout=1)  # the subscribe confirmation
        handed = replace(_kept("C1:1.0"), team="T:9")
        begun = await store.begin_prompt(handed, may_start=True, hold_s=0, budget=rule)
        assert (begun.outcome, begun.budget_wait_ms) == ("start", 0)
        announced = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2)
        assert announced is not None
        assert announced["data"] == keys.schedule_member("T:9", handed.marker)
    # A second one finds the budget full: kept, but its POST must wait for a slot.
    other = replace(_kept("C1:2.0", thread_ts="100.2"), team="T:9")
    assert (await store.begin_prompt(other, may_start=True, hold_s=0, budget=rule)).budget_wait_ms
    first = await store.claim_due(lease=5, limit=10, kept_lease=60)
    assert [c.deferred_id for c in first.claims] == ["C1-1.0", "C1-2.0"]
    assert first.records == [None, None]
    one, two = first.kept
    assert one is not None and two is not None
    assert (one.kind, one.team, one.text) == ("start", "T:9", "prompt of C1:1.0")
    assert (one.claims, one.admitted, one.first_send) == (1, True, True)
    assert (two.admitted, two.first_send) == (False, True)
    # Kept prompts are held for ``kept_lease``, not the runs' lease.
    assert all(c.lease_ms > now_ms() + 50_000 for c in first.claims)
    # The claimer died: whoever claims it next may find an acknowledgement already posted.
    again = await store.claim_due(lease=5, limit=10, now=now_ms() + 61_000)
    assert [k.claims if k else None for k in again.kept] == [2, 2]
    assert not any(k.first_send for k in again.kept if k)


async def test_a_held_prompt_is_never_a_first_send_for_a_watcher(store: Store) -> None:
    """A prompt its taker holds (and sends itself) counts the taker as its first claim: the
    watcher that claims it once the hold ends (the taker died) looks for an earlier
    acknowledgement instead of posting one, and nothing is announced."""
    async with store.redis.pubsub() as pubsub:
        await pubsub.subscribe(keys.handoff_channel())
        await pubsub.get_message(timeout=1)
        await store.begin_prompt(_kept("C1:1.0"), may_start=True, hold_s=1, budget=None)
        assert await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2) is None
    batch = await store.claim_due(lease=5, limit=10, now=now_ms() + 2_000)
    (kept,) = batch.kept
    assert kept is not None and (kept.claims, kept.first_send) == (2, False)


async def test_claim_due_takes_each_run_once_and_leases_it(store: Store) -> None:
    for i in range(5):
        await store.watch_run(_record(f"run-{i}"), first_poll_in=0)
    now = now_ms() + 10
    batches = await asyncio.gather(
        *(store.claim_due(lease=30, limit=10, now=now) for _ in range(4))
    )
    claimed = [c.run_id for batch in batches for c in batch.claims]
    assert sorted(claimed) == [f"run-{i}" for i in range(5)]
    # Under lease: nobody else sees them until it runs out.
    assert (await store.claim_due(lease=30, limit=10, now=now + 29_000)).claims == []
    again = await store.claim_due(lease=30, limit=10, now=now + 30_001)
    assert len(again.claims) == 5


async def test_claim_returns_records_queue_lengths_and_next_due(store: Store) -> None:
    await store.bind_agent("T1", "C1", "100.1", "agent-1")
    await store.watch_run(_record("run-1"), first_poll_in=0)
    await store.watch_run(_record("run-2", team="T:2"), first_poll_in=60)
    await _begin(store, "C1:5.0", may_start=False)
    await _begin(store, "C1:6.0", may_start=False)
    batch = await store.claim_due(lease=90, limit=10, now=now_ms() + 10)
    assert [c.run_id for c in batch.claims] == ["run-1"]
    (record,) = batch.records
    assert record is not None
    assert replace(record, started_at=0) == replace(_record("run-1"), started_at=0)
    assert batch.queued == [2]
    # run-2 (a team id with ':' in it: the script builds the same key names) is next.
    assert batch.next_due_ms is not None and batch.next_due_ms > now_ms() + 50_000
    later = await store.claim_due(lease=30, limit=10, now=now_ms() + 61_000)
    assert later.records[0] is not None and later.records[0].team == "T:2"


async def test_claim_takes_poll_slots_and_holds_back_what_the_budget_refuses(
    store: Store,
) -> None:
    rule = BudgetRule(per_minute=4, poll_limit=3)
    for i in range(5):
        await store.watch_run(_record(f"run-{i}"), first_poll_in=0)
    batch = await store.claim_due(lease=30, limit=10, now=now_ms() + 10, budget=rule)
    assert len(batch.claims) == 3
    assert 55_000 < batch.budget_wait_ms <= 60_000
    # The last slot is kept for people: a poll batch finds no room, a prompt does.
    assert (await store.claim_due(lease=30, limit=10, budget=rule)).claims == []
    await store.bind_agent("T1", "C1", "100.9", "agent-9")
    begun = await store.begin_prompt(
        _kept("C1:100.9", thread_ts="100.9"), may_start=False, hold_s=90, budget=rule
    )
    assert begun.budget_wait_ms == 0


async def test_claim_flags_as_many_progress_updates_as_the_allowance_has_room_for(
    store: Store,
) -> None:
    for i in range(3):
        await store.watch_run(_record(f"run-{i}"), first_poll_in=0)
    await store.defer(_kept("C1:9.0"), 0)  # a kept prompt: no progress line of its own
    batch = await store.claim_due(lease=30, limit=10, now=now_ms() + 10, progress_per_minute=2)
    flags = dict(zip((c.run_id for c in batch.claims), batch.show_progress, strict=True))
    assert len(flags) == 4
    assert sorted(v for k, v in flags.items() if not k.startswith(keys.DEFERRED_MARK)) == [
        False,
        True,
        True,
    ]
    # The minute's allowance is spent: the next batch shows none; no limit shows all.
    for i in range(3):
        await store.watch_run(_record(f"run-{i}"), first_poll_in=0)
    later = await store.claim_due(lease=30, limit=10, now=now_ms() + 10, progress_per_minute=2)
    assert later.show_progress == [False, False, False]
    for i in range(3):
        await store.watch_run(_record(f"run-{i}"), first_poll_in=0)
    free = await store.claim_due(lease=30, limit=10, now=now_ms() + 10)
    assert free.show_progress == [True, True, True]


async def test_settle_only_touches_runs_still_under_our_lease(store: Store) -> None:
    await store.watch_run(_record("run-1"), first_poll_in=0)
    now = now_ms() + 10
    (mine,) = (await store.claim_due(lease=1, limit=10, now=now)).claims
    # Our lease ran out and another process took the run.
    (theirs,) = (await store.claim_due(lease=30, limit=10, now=now + 2_000)).claims
    assert await store.settle([(mine, None)]) == (0, now + 2_000 + 30_000)
    assert await store.scheduled_count() == 1
    assert await store.settle([(theirs, now + 50_000)]) == (1, now + 50_000)
    (later,) = (await store.claim_due(lease=30, limit=10, now=now + 50_000)).claims
    assert await store.settle([(later, None)]) == (1, None)
    assert await store.scheduled_count() == 0


async def test_answers_are_recorded_once_and_sent_once(store: Store) -> None:
    from bot.store import QuestionSet

    await store.save_questions(
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
        *(store.record_answer("T1", "run-1", 0, f"U{i}", "Austin") for i in range(5))
    )
    assert sorted(results) == [0, 0, 0, 0, 1]
    assert await store.mark_answers_sent("T1", "run-1", "U1") is True
    assert await store.mark_answers_sent("T1", "run-1", "U2") is False
    assert await store.record_answer("T1", "run-1", 1, "U3", "x") == -1
    qs = await store.get_questions("T1", "run-1")
    assert qs is not None and qs.sent and len(qs.answers) == 1


async def test_keys_are_namespaced_by_team() -> None:
    assert keys.thread("T1", "C1", "1.0") != keys.thread("T2", "C1", "1.0")
    assert keys.thread("T1", "C1", "1.0").startswith("ogs:T1:")


async def test_a_queued_prompt_comes_back_as_it_was_written(store: Store) -> None:
    """The queue entry is JSON built inside the begin script: text with quotes, slashes,
    new lines and non-ASCII comes back unchanged."""
    await _begin(store, "C1:1.0")  # the thread is busy with its starter
    text = 'Find "seed" CTOs in São Paulo / Zürich\nand <@U123> — 20 of them \\o/'
    queued = replace(_kept("C1:2.0", user="U2"), text=text)
    begun = await store.begin_prompt(queued, may_start=False, hold_s=90, budget=None)
    assert begun.outcome == "queued"
    assert await store.take_pending("T1", "C1", "100.1") == [
        {"text": text, "user_id": "U2", "cause": "C1:2.0"}
    ]


async def test_a_prompt_kept_before_claims_were_counted_is_looked_for(store: Store) -> None:
    """A kept prompt written without a claim count (by an older version, held by its
    taker) is not a first send for the watcher that takes it over after a deploy."""
    item = _kept("C1:1.0")
    legacy = {k: v for k, v in item.to_hash().items() if k not in ("claims", "admitted")}
    await store.redis.hset(keys.deferred("T1", item.id), mapping=legacy)
    await store.redis.zadd(keys.schedule(), {keys.schedule_member("T1", item.marker): 0})
    (kept,) = (await store.claim_due(lease=5, limit=10)).kept
    assert kept is not None and (kept.claims, kept.first_send) == (2, False)
