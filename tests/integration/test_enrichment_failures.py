"""Following an enriching table when Slack fails it, and when two runs of a thread show
the same table: the card ends up right, and the "fully enriched" line is said once."""

from __future__ import annotations

from tests.fakes.origami import make_table
from tests.integration.enrichment_world import (
    CELLS,
    FILL_S,
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
