"""Tables still being enriched after their run: followed by the real follower, store and
Slack view, against the fake Origami (its cells settle as its clock moves) and the fake
Slack, with a real Redis. Two followers on one Redis stand for two worker processes; a
new one stands for a restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis.asyncio as aredis

from bot.delivery import Delivered, Delivery
from bot.domain import RunRecord
from bot.enrichment import EnrichmentConfig, EnrichmentFollower
from bot.origami.client import OrigamiClient, RetryPolicy, build_http_client
from bot.origami.models import Run
from bot.previews import LeadPreviews
from bot.slack.app import build_web_client
from bot.slack.enrichment_view import SlackEnrichmentView
from bot.slack.presenter import SlackPresenter
from bot.stores import Stores
from bot.tenancy.origami import OneKey
from tests.conftest import RedisTarget
from tests.fakes.origami import FakeOrigami, RunScript, make_table
from tests.fakes.payloads import CHANNEL_ID, new_ts
from tests.fakes.slack import FakeSlack

# The fake fills 8 cells over 100 s of its clock: 2 every 25 s, 2 credits each.
CELLS = 8
FILL_S = 100.0
STEP_S = 25.0


@dataclass
class World:
    fake: FakeOrigami
    slack: FakeSlack
    stores: Stores
    origami: OneKey
    delivery: Delivery
    view: SlackEnrichmentView
    previews: LeadPreviews

    def follower(self, stores: Stores | None = None, **config: Any) -> EnrichmentFollower:
        settings = EnrichmentConfig(**{"first_read_s": 0.01, "max_wait_s": 0.01, **config})
        return EnrichmentFollower(
            (stores or self.stores).enrichment,
            self.origami,
            self.view,
            self.delivery,
            self.previews,
            settings,
        )

    def table_reads(self, table_id: str) -> int:
        return len(self.fake.requests("GET", f"/tables/{table_id}"))

    def thread(self, thread_ts: str) -> list[dict[str, Any]]:
        return self.slack.messages(CHANNEL_ID, thread_ts)[1:]


@pytest.fixture
async def world(stores: Stores) -> AsyncIterator[World]:
    async with FakeSlack() as slack, FakeOrigami(enrichment_seconds=FILL_S) as fake:
        client = OrigamiClient(
            build_http_client(fake.url, fake.api_key, timeout=5),
            retry=RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.05, total_budget=5),
        )
        web = build_web_client(slack.bot_token, slack.api_url)
        origami = OneKey(client)
        presenter = SlackPresenter(web)
        try:
            yield World(
                fake,
                slack,
                stores,
                origami,
                Delivery(stores, presenter),
                SlackEnrichmentView(web),
                LeadPreviews(origami),
            )
        finally:
            await client.aclose()


async def _delivered(w: World, *tables: dict[str, Any]) -> tuple[RunRecord, Run, Delivered]:
    """A run that ended with ``tables``, delivered in a thread as the watcher does."""
    w.fake.script(RunScript(polls=None, tables=list(tables)))
    client = await w.origami.for_team("T0001")
    created = await client.create_agent("find founders", idempotency_key=new_ts())
    w.fake.finish(created.run.id)
    run = (await client.get_run(created.agent.id, created.run.id)).run
    thread_ts = new_ts()
    w.slack.add_message(CHANNEL_ID, "find founders", ts=thread_ts)
    record = RunRecord(
        "T0001", run.id, created.agent.id, CHANNEL_ID, thread_ts, "", "U1", "find founders"
    )
    previews = await w.previews.read("T0001", run)
    return record, run, await w.delivery.deliver(record, run, previews)


def _card_message(w: World, record: RunRecord) -> dict[str, Any]:
    [message] = [m for m in w.thread(record.thread_ts) if "card" in str(m.get("blocks"))]
    return message


def _card(message: dict[str, Any]) -> dict[str, Any]:
    [card] = [b for b in message["blocks"] if b["type"] == "card"]
    return card


def _alerts(message: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in message["blocks"] if b["type"] == "alert"]


def _finished_lines(w: World, record: RunRecord) -> list[str]:
    return [m["text"] for m in w.thread(record.thread_ts) if "fully enriched" in m["text"]]


async def _tick_both(*followers: EnrichmentFollower) -> int:
    """One claim by each follower at the same moment, as two processes would."""
    return sum(await asyncio.gather(*(f.tick() for f in followers)))


async def _until_due(*followers: EnrichmentFollower) -> int:
    """Tick until some follower re-reads a table (the waits are 10 ms); bounded."""
    for _ in range(200):
        reads = await _tick_both(*followers)
        if reads:
            return reads
        await asyncio.sleep(0.01)
    raise AssertionError("nothing came due")


async def test_an_enriching_table_is_updated_in_place_until_done_each_read_once(
    w: World, redis_target: RedisTarget
) -> None:
    table = make_table("Austin SaaS founders", 20, qualified=14, credits=60, running_cells=CELLS)
    record, run, delivered = await _delivered(w, table)
    first = _card_message(w, record)
    assert "8 leads are still being enriched" in _alerts(first)[0]
    assert "60 credits used" in _card(first)["body"]["text"]

    follower = w.follower()
    assert await follower.follow(record, run, delivered) == 1
    # Delivered again after a crash: followed once, not twice.
    assert await follower.follow(record, run, delivered) == 0
    # A second process on the same Redis (its own connection), as a web+worker deployment
    # with two workers has.
    other_stores = _second_process(w.stores, redis_target)
    other = w.follower(other_stores)
    try:
        reads = 0
        for step in range(1, 4):
            w.fake.advance(STEP_S)
            reads += await _until_due(follower, other)
            # Each re-read was done by one of them, once: one GET of the table each.
            assert w.table_reads(table["id"]) == reads
            now = _card_message(w, record)
            assert now["ts"] == first["ts"]  # updated in place, not posted anew
            left = CELLS - 2 * step
            assert f"{left} leads are still being enriched" in _alerts(now)[0]
            assert f"{60 + 2 * (CELLS - left)} credits used" in _card(now)["body"]["text"]
            assert _finished_lines(w, record) == []
        # Nothing changed since the last read: the card is not updated again.
        updates = len(w.slack.calls("chat.update"))
        reads += await _until_due(follower, other)
        assert len(w.slack.calls("chat.update")) == updates

        # A restart: a new follower takes over where they were.
        restarted = w.follower()
        w.fake.advance(STEP_S)
        reads += await _until_due(restarted)
        done = _card_message(w, record)
        assert done["ts"] == first["ts"] and _alerts(done) == []
        assert "76 credits used" in _card(done)["body"]["text"]
        assert _finished_lines(w, record) == [
            "✅ Austin SaaS founders is fully enriched: 20 leads, 14 qualified, 76 credits used."
        ]
        # Done: no longer followed, nothing more read or said.
        await asyncio.sleep(0.05)
        assert await _tick_both(follower, other, restarted) == 0
        assert await w.stores.enrichment.count() == 0
        assert w.table_reads(table["id"]) == reads
        assert len(_finished_lines(w, record)) == 1
    finally:
        if other_stores is not w.stores:
            await other_stores.close()
    assert w.slack.rejections == []


async def test_following_stops_at_its_bound_with_a_note_on_the_card(w: World) -> None:
    table = make_table("Dallas CTOs", 12, qualified=5, running_cells=CELLS)
    record, run, delivered = await _delivered(w, table)
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
    [alert] = _alerts(_card_message(w, record))
    assert "stopped updating this card" in alert
    assert _finished_lines(w, record) == []
    # Past the bound nothing is read any more.
    await asyncio.sleep(0.05)
    assert await follower.tick() == 0
    assert w.table_reads(table["id"]) == reads
    assert w.slack.rejections == []


async def test_a_carousel_card_and_its_own_preview_message_are_updated(w: World) -> None:
    quiet = make_table("Boston founders", 6, qualified=3)
    busy = make_table("Denver founders", 10, qualified=4, credits=30, running_cells=CELLS)
    record, run, delivered = await _delivered(w, quiet, busy)
    follower = w.follower()
    assert await follower.follow(record, run, delivered) == 1  # only the one still filling
    previews_before = _preview_tables(w, record)
    w.fake.advance(FILL_S)
    await _until_due(follower)
    [carousel] = [
        b for m in w.thread(record.thread_ts) for b in m["blocks"] if b["type"] == "carousel"
    ]
    bodies = [card.get("body", {}).get("text", "") for card in carousel["elements"]]
    assert "46 credits used" in bodies[1] and "46" not in bodies[0]
    assert not any(b["type"] == "alert" for m in w.thread(record.thread_ts) for b in m["blocks"])
    assert _preview_tables(w, record) == previews_before  # the same leads, still one table each
    assert len(_finished_lines(w, record)) == 1
    assert w.slack.rejections == []


def _preview_tables(w: World, record: RunRecord) -> list[list[Any]]:
    return [
        b["rows"] for m in w.thread(record.thread_ts) for b in m["blocks"] if b["type"] == "table"
    ]


def _second_process(stores: Stores, redis_target: RedisTarget) -> Stores:
    if redis_target.url is None:
        return stores  # the embedded store is one process's only
    return Stores.on(aredis.Redis.from_url(redis_target.url, decode_responses=True))


@pytest.fixture
def w(world: World) -> World:
    return world
