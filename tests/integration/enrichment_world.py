"""The world the enrichment follower's integration tests run in: the real follower, store
and Slack view against the fake Origami (its cells settle as its clock moves) and the fake
Slack, with a real Redis; and what those tests read of the thread."""

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
from tests.fakes.origami import FakeOrigami, RunScript
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


async def deliver_run(
    w: World, *tables: dict[str, Any], thread_ts: str = ""
) -> tuple[RunRecord, Run, Delivered]:
    """A run that ended with ``tables``, delivered in a thread (a new one, or the one of
    ``thread_ts``) as the watcher does."""
    w.fake.script(RunScript(polls=None, tables=list(tables)))
    client = await w.origami.for_team("T0001")
    created = await client.create_agent("find founders", idempotency_key=new_ts())
    w.fake.finish(created.run.id)
    run = (await client.get_run(created.agent.id, created.run.id)).run
    if not thread_ts:
        thread_ts = new_ts()
        w.slack.add_message(CHANNEL_ID, "find founders", ts=thread_ts)
    record = RunRecord(
        "T0001", run.id, created.agent.id, CHANNEL_ID, thread_ts, "", "U1", "find founders"
    )
    previews = await w.previews.read("T0001", run)
    return record, run, await w.delivery.deliver(record, run, previews)


def card_message(w: World, record: RunRecord) -> dict[str, Any]:
    [message] = [m for m in w.thread(record.thread_ts) if "card" in str(m.get("blocks"))]
    return message


def card_of(message: dict[str, Any]) -> dict[str, Any]:
    [card] = [b for b in message["blocks"] if b["type"] == "card"]
    return card


def alerts(message: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in message["blocks"] if b["type"] == "alert"]


def finished_lines(w: World, record: RunRecord) -> list[str]:
    return [m["text"] for m in w.thread(record.thread_ts) if "fully enriched" in m["text"]]


async def tick_both(*followers: EnrichmentFollower) -> int:
    """One claim by each follower at the same moment, as two processes would."""
    return sum(await asyncio.gather(*(f.tick() for f in followers)))


async def until_due(*followers: EnrichmentFollower) -> int:
    """Tick until some follower re-reads a table (the waits are 10 ms); bounded."""
    for _ in range(200):
        reads = await tick_both(*followers)
        if reads:
            return reads
        await asyncio.sleep(0.01)
    raise AssertionError("nothing came due")


async def until_settled(w: World, follower: EnrichmentFollower) -> None:
    """Tick until nothing is followed any more; bounded."""
    for _ in range(500):
        if not await w.stores.enrichment.count():
            return
        await follower.tick()
        await asyncio.sleep(0.01)
    raise AssertionError("still followed")


def preview_tables(w: World, record: RunRecord) -> list[list[Any]]:
    return [
        b["rows"] for m in w.thread(record.thread_ts) for b in m["blocks"] if b["type"] == "table"
    ]


def second_process(stores: Stores, redis_target: RedisTarget) -> Stores:
    if redis_target.url is None:
        return stores  # the embedded store is one process's only
    return Stores.on(aredis.Redis.from_url(redis_target.url, decode_responses=True))


@pytest.fixture
def w(world: World) -> World:
    return world
