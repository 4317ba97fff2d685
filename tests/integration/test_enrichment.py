"""Tables still being enriched after their run: followed by the real follower, store and
Slack view, against the fake Origami (its cells settle as its clock moves) and the fake
Slack, with a real Redis. Two followers on one Redis stand for two worker processes; a
new one stands for a restart."""

from __future__ import annotations

import asyncio

from tests.conftest import RedisTarget
from tests.fakes.origami import make_table
from tests.integration.enrichment_world import (
    CELLS,
    FILL_S,
    STEP_S,
    World,
    alerts,
    card_message,
    card_of,
    deliver_run,
    finished_lines,
    preview_tables,
    second_process,
    tick_both,
    until_due,
    w,
    world,
)

__all__ = ["w", "world"]  # the fixtures


async def test_an_enriching_table_is_updated_in_place_until_done_each_read_once(
    w: World, redis_target: RedisTarget
) -> None:
    table = make_table("Austin SaaS founders", 20, qualified=14, credits=60, running_cells=CELLS)
    record, run, delivered = await deliver_run(w, table)
    first = card_message(w, record)
    assert "8 leads are still being enriched" in alerts(first)[0]
    assert "60 credits used" in card_of(first)["body"]["text"]

    follower = w.follower()
    assert await follower.follow(record, run, delivered) == 1
    # Delivered again after a crash: followed once, not twice.
    assert await follower.follow(record, run, delivered) == 0
    # A second process on the same Redis (its own connection), as a web+worker deployment
    # with two workers has.
    other_stores = second_process(w.stores, redis_target)
    other = w.follower(other_stores)
    try:
        reads = 0
        for step in range(1, 4):
            w.fake.advance(STEP_S)
            # The one table due was re-read by one of them, once: one GET of it.
            assert await until_due(follower, other) == 1
            reads += 1
            assert w.table_reads(table["id"]) == reads
            now = card_message(w, record)
            assert now["ts"] == first["ts"]  # updated in place, not posted anew
            left = CELLS - 2 * step
            assert f"{left} leads are still being enriched" in alerts(now)[0]
            assert f"{60 + 2 * (CELLS - left)} credits used" in card_of(now)["body"]["text"]
            assert finished_lines(w, record) == []
        # Nothing changed since the last read: the card is not updated again.
        # Not even read back (the figures are the same as last shown), nor its rows read.
        updates = len(w.slack.calls("chat.update"))
        read_backs = len(w.slack.calls("conversations.replies"))
        rows = len(w.fake.requests("GET", f"/tables/{table['id']}/rows"))
        assert rows >= 3  # read for the preview at each change
        assert await until_due(follower, other) == 1
        reads += 1
        assert w.table_reads(table["id"]) == reads
        assert len(w.slack.calls("chat.update")) == updates
        assert len(w.slack.calls("conversations.replies")) == read_backs
        assert len(w.fake.requests("GET", f"/tables/{table['id']}/rows")) == rows

        # A restart: a new follower takes over where they were.
        restarted = w.follower()
        w.fake.advance(STEP_S)
        assert await until_due(restarted) == 1
        reads += 1
        done = card_message(w, record)
        assert done["ts"] == first["ts"] and alerts(done) == []
        assert "76 credits used" in card_of(done)["body"]["text"]
        assert finished_lines(w, record) == [
            "✅ Austin SaaS founders is fully enriched: 20 leads, 14 qualified, 76 credits used."
        ]
        # Done: no longer followed, nothing more read or said.
        await asyncio.sleep(0.05)
        assert await tick_both(follower, other, restarted) == 0
        assert await w.stores.enrichment.count() == 0
        assert w.table_reads(table["id"]) == reads
        assert len(finished_lines(w, record)) == 1
    finally:
        if other_stores is not w.stores:
            await other_stores.close()
    assert w.slack.rejections == []


async def test_following_stops_at_its_bound_with_a_note_on_the_card(w: World) -> None:
    table = make_table("Dallas CTOs", 12, qualified=5, running_cells=CELLS)
    record, run, delivered = await deliver_run(w, table)
    follower = w.follower(follow_s=0.3)
    assert await follower.follow(record, run, delivered) == 1
    # The table never finishes (the fake's clock stands still): read until the bound.
    loop = asyncio.get_running_loop()
    end = loop.time() + 5
    while await w.stores.enrichment.count() and loop.time() < end:
        await follower.tick()
        await asyncio.sleep(0.01)
    assert await w.stores.enrichment.count() == 0
    reads = w.table_reads(table["id"])
    assert reads >= 1
    [alert] = alerts(card_message(w, record))
    assert "stopped updating this card" in alert
    assert finished_lines(w, record) == []
    # Past the bound nothing is read any more.
    await asyncio.sleep(0.05)
    assert await follower.tick() == 0
    assert w.table_reads(table["id"]) == reads
    assert w.slack.rejections == []


async def test_a_carousel_card_and_its_own_preview_message_are_updated(w: World) -> None:
    quiet = make_table("Boston founders", 6, qualified=3)
    busy = make_table("Denver founders", 10, qualified=4, credits=30, running_cells=CELLS)
    record, run, delivered = await deliver_run(w, quiet, busy)
    follower = w.follower()
    assert await follower.follow(record, run, delivered) == 1  # only the one still filling
    previews_before = preview_tables(w, record)
    w.fake.advance(FILL_S)
    await until_due(follower)
    [carousel] = [
        b for m in w.thread(record.thread_ts) for b in m["blocks"] if b["type"] == "carousel"
    ]
    bodies = [card.get("body", {}).get("text", "") for card in carousel["elements"]]
    assert "46 credits used" in bodies[1] and "46" not in bodies[0]
    assert not any(b["type"] == "alert" for m in w.thread(record.thread_ts) for b in m["blocks"])
    quiet_rows, busy_rows = preview_tables(w, record)
    assert quiet_rows == previews_before[0]  # not followed: left as it was
    # The busy table's preview shows the fit scores that came in since, for the same leads.
    before = previews_before[1]
    assert before[0][3]["text"] == "Fit"
    scores_before = [row[3]["text"] for row in before[1:]]
    assert scores_before[2:] == ["–"] * 3  # still being scored when the result was posted
    scores_now = [row[3]["text"] for row in busy_rows[1:]]
    assert scores_now[:2] == scores_before[:2]
    assert all(score.isdigit() for score in scores_now)
    assert [r[:3] + r[4:] for r in busy_rows] == [r[:3] + r[4:] for r in before]
    assert len(finished_lines(w, record)) == 1
    assert w.slack.rejections == []
