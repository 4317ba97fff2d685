"""The Redis store against a real server: claims, leases, schedule, queue, answers."""

from __future__ import annotations

import asyncio

from bot import keys
from bot.store import RunRecord, Store, now_ms


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


async def test_every_key_has_a_ttl(store: Store) -> None:
    await store.claim_event("T1", "msg:C1:1.0")
    await store.claim_action("T1", "continue:run-1")
    await store.open_thread("T1", "C1", "100.1", "U1")
    await store.bind_agent("T1", "C1", "100.1", "agent-1")
    await store.watch_run(_record("run-1"), first_poll_in=5)
    await store.record_part("T1", "run-1", "text:0", "1.1")
    await store.enqueue_if_busy("T1", "C1", "100.1", {"text": "x"})
    all_keys = [k async for k in store.redis.scan_iter("ogs:*")]
    assert len(all_keys) == 8
    for key in all_keys:
        ttl = await store.redis.ttl(key)
        assert ttl > 0, key


async def test_claim_event_is_first_one_wins(store: Store) -> None:
    results = await asyncio.gather(*(store.claim_event("T1", "msg:C1:1.0") for _ in range(10)))
    assert results.count(True) == 1


async def test_open_thread_once(store: Store) -> None:
    assert await store.open_thread("T1", "C1", "1.0", "U1") is True
    assert await store.open_thread("T1", "C1", "1.0", "U2") is False
    state = await store.get_thread("T1", "C1", "1.0")
    assert state is not None and state.starter == "U1" and state.agent_id is None


async def test_claim_due_takes_each_run_once_and_leases_it(store: Store) -> None:
    for i in range(5):
        await store.watch_run(_record(f"run-{i}"), first_poll_in=0)
    now = now_ms() + 10
    batches = await asyncio.gather(
        *(store.claim_due(lease=30, limit=10, now=now) for _ in range(4))
    )
    claimed = [c.run_id for batch in batches for c in batch]
    assert sorted(claimed) == [f"run-{i}" for i in range(5)]
    # Under lease: nobody else sees them until it runs out.
    assert await store.claim_due(lease=30, limit=10, now=now + 29_000) == []
    again = await store.claim_due(lease=30, limit=10, now=now + 30_001)
    assert len(again) == 5


async def test_settle_only_touches_runs_still_under_our_lease(store: Store) -> None:
    await store.watch_run(_record("run-1"), first_poll_in=0)
    now = now_ms() + 10
    (mine,) = await store.claim_due(lease=1, limit=10, now=now)
    # Our lease ran out and another process took the run.
    (theirs,) = await store.claim_due(lease=30, limit=10, now=now + 2_000)
    assert await store.settle([(mine, None)]) == 0
    assert await store.scheduled_count() == 1
    assert await store.settle([(theirs, now + 50_000)]) == 1
    assert await store.next_due_ms() == now + 50_000
    (later,) = await store.claim_due(lease=30, limit=10, now=now + 50_000)
    assert await store.settle([(later, None)]) == 1
    assert await store.scheduled_count() == 0


async def test_queue_behind_active_run_and_release(store: Store) -> None:
    await store.open_thread("T1", "C1", "100.1", "U1")
    # Agent still being created: queue.
    assert await store.enqueue_if_busy("T1", "C1", "100.1", {"text": "a"}) == 1
    await store.bind_agent("T1", "C1", "100.1", "agent-1")
    await store.watch_run(_record("run-1"), first_poll_in=5)
    assert await store.enqueue_if_busy("T1", "C1", "100.1", {"text": "b"}) == 2
    assert await store.release_thread("T1", "C1", "100.1", "other-run") == []
    items = await store.release_thread("T1", "C1", "100.1", "run-1")
    assert [i["text"] for i in items] == ["a", "b"]
    # Idle now: nothing is queued, the caller sends.
    assert await store.enqueue_if_busy("T1", "C1", "100.1", {"text": "c"}) == 0
    assert await store.pending_count("T1", "C1", "100.1") == 0


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
