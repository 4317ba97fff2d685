"""Following an enriching table when Slack fails it, and when two runs of a thread show
the same table: the card ends up right, and the "fully enriched" line is said once."""

from __future__ import annotations

from bot.stores import Stores, keys
from bot.stores.budget import now_ms
from tests.fakes.origami import make_table
from tests.integration.enrichment_world import (
    CELLS,
    FILL_S,
    STEP_S,
    World,
    alerts,
    card_message,
    deliver_run,
    finished_lines,
    until_due,
    until_settled,
    w,
    world,
)

__all__ = ["w", "world"]  # the fixtures

DONE_LINE = "✅ Austin SaaS founders is fully enriched: 20 leads, 14 qualified, 76 credits used."


async def test_a_failed_read_back_is_retried_not_taken_for_a_deleted_message(w: World) -> None:
    table = make_table("Austin SaaS founders", 20, qualified=14, credits=60, running_cells=CELLS)
    record, run, delivered = await deliver_run(w, table)
    follower = w.follower(error_backoff_s=0.01)
    assert await follower.follow(record, run, delivered) == 1
    w.fake.advance(FILL_S)
    # The read-back before the card's update fails once (Slack answers an error, not "no
    # such message"): the table stays followed and the next re-read updates the card.
    w.slack.fail("conversations.replies", error="fatal_error")
    await until_due(follower)
    assert await w.stores.enrichment.count() == 1
    await until_settled(w, follower)
    assert alerts(card_message(w, record)) == []
    assert finished_lines(w, record) == [DONE_LINE]
    assert w.slack.rejections == []


async def test_the_done_line_is_said_even_when_the_card_cannot_be_updated(w: World) -> None:
    table = make_table("Austin SaaS founders", 20, qualified=14, credits=60, running_cells=CELLS)
    record, run, delivered = await deliver_run(w, table)
    follower = w.follower(error_backoff_s=0.01, follow_s=0.2)
    assert await follower.follow(record, run, delivered) == 1
    w.fake.advance(FILL_S)
    # Every update of the card fails, until following ends.
    w.slack.fail("chat.update", times=10_000, error="invalid_blocks")
    await until_settled(w, follower)
    assert finished_lines(w, record) == [DONE_LINE]
    assert w.slack.calls("chat.update")  # it was tried


async def test_two_runs_of_a_thread_filling_one_table_say_it_is_done_once(w: World) -> None:
    first = make_table("Austin SaaS founders", 20, qualified=14, credits=60, running_cells=CELLS)
    record, run, delivered = await deliver_run(w, first)
    # A follow-up in the same thread adds leads to the table while it still fills.
    more = {**make_table("Austin SaaS founders", 20, qualified=14, credits=60), "id": first["id"]}
    more["cells"] = first["cells"]
    again, run_2, delivered_2 = await deliver_run(w, more, thread_ts=record.thread_ts)
    follower = w.follower()
    assert await follower.follow(record, run, delivered) == 1
    assert await follower.follow(again, run_2, delivered_2) == 1
    assert await w.stores.enrichment.count() == 2
    w.fake.advance(FILL_S)
    await until_settled(w, follower)
    assert finished_lines(w, record) == [DONE_LINE]
    # Both cards were brought up to date.
    shown = [m for m in w.thread(record.thread_ts) if "card" in str(m.get("blocks"))]
    assert len(shown) == 2 and all(alerts(m) == [] for m in shown)
    assert w.slack.rejections == []


async def test_a_full_update_allowance_defers_the_card_rather_than_updating_it(
    w: World,
) -> None:
    table = make_table("Austin SaaS founders", 20, qualified=14, credits=60, running_cells=CELLS)
    record, run, delivered = await deliver_run(w, table)
    follower = w.follower(updates_per_minute=40)
    assert await follower.follow(record, run, delivered) == 1
    # Runs' progress took the minute's whole allowance.
    store = w.stores.enrichment
    redis = store.redis
    assert await store.take_updates(40, per_minute=40, now_ms=now_ms()) == 0
    w.fake.advance(STEP_S)
    await until_due(follower)
    assert w.slack.calls("chat.update") == []
    assert "8 leads are still being enriched" in alerts(card_message(w, record))[0]
    # Still followed, next read when the allowance frees (a minute on), not at once.
    [(entry, due)] = await redis.zrange(keys.enriching_due(), 0, -1, withscores=True)
    assert due >= now_ms() + 50_000
    assert await follower.tick() == 0
    # The minute has passed: the next read updates the card.
    await redis.delete(keys.progress_budget())
    await redis.zadd(keys.enriching_due(), {entry: now_ms()})
    await until_due(follower)
    assert len(w.slack.calls("chat.update")) == 1
    assert "6 leads are still being enriched" in alerts(card_message(w, record))[0]
    # It took its slot of the allowance.
    assert await redis.zcard(keys.progress_budget()) == 1
    assert w.slack.rejections == []


async def test_a_card_and_its_preview_take_their_slots_together_or_not_at_all(
    stores: Stores,
) -> None:
    store, now = stores.enrichment, now_ms()
    assert await store.take_updates(3, per_minute=4, now_ms=now) == 0
    # One slot left: an update of two messages waits for the minute's first to leave.
    assert await store.take_updates(2, per_minute=4, now_ms=now + 10) == 60_000 - 10
    assert await store.redis.zcard(keys.progress_budget()) == 3
    assert await store.take_updates(1, per_minute=4, now_ms=now + 10) == 0
    assert await store.take_updates(1, per_minute=4, now_ms=now + 60_001) == 0
    # No allowance kept: nothing taken, nothing waited for.
    assert await store.take_updates(50, per_minute=-1, now_ms=now) == 0
