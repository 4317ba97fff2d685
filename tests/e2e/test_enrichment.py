"""A table still being enriched when its run ends, through the real app (``python -m bot``,
or its web and worker halves) against the fakes: its card is updated in place while the
fake Origami fills its cells, then one line says it is done. Re-reads are paced fast here
(``ENRICHMENT_READ_SECONDS``); the fake fills the table over a couple of seconds."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import RedisTarget
from tests.e2e.conftest import AppProcess, flush, start_deployment, stop_app
from tests.e2e.test_conversations import bot_replies, mention, wait_finished
from tests.fakes.origami import FakeOrigami, RunScript, make_table
from tests.fakes.slack import FakeSlack


@pytest.fixture
async def enriching_app(
    fakes: tuple[FakeSlack, FakeOrigami],
    redis_target: RedisTarget,
    http: httpx.AsyncClient,
    deployment: str,
) -> AsyncIterator[AppProcess]:
    slack, origami = fakes
    origami.enrichments.seconds = 2.0
    flush(redis_target)
    running = await start_deployment(
        deployment, slack, origami, redis_target.url, http, ENRICHMENT_READ_SECONDS="0.2"
    )
    try:
        yield running
    finally:
        log = await stop_app(running)
        print(f"--- app log ---\n{log}")
        assert slack.rejections == [], slack.rejections
        assert "Traceback" not in log, log


def _with_card(app: AppProcess, thread_ts: str) -> list[dict[str, Any]]:
    return [m for m in bot_replies(app, thread_ts) if '"card"' in _blocks(m)]


def _blocks(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks") or [])


def _enriched(app: AppProcess, thread_ts: str) -> list[dict[str, Any]]:
    return [m for m in bot_replies(app, thread_ts) if "fully enriched" in str(m.get("text"))]


async def test_an_enriching_table_is_updated_until_it_is_done(enriching_app: AppProcess) -> None:
    app = enriching_app
    table = make_table("Austin SaaS founders", 20, qualified=14, credits=60, running_cells=8)
    app.origami.script(RunScript(polls=1, tables=[table]))
    thread_ts = await mention(app, "find 20 seed-stage SaaS founders in Austin")
    await wait_finished(app, thread_ts)
    [posted] = _with_card(app, thread_ts)
    assert "still being enriched" in _blocks(posted)
    # The done line is said first, then the card is updated: wait for both.
    await app.slack.wait_for(
        lambda s: (
            len(_enriched(app, thread_ts)) == 1
            and not any('"alert"' in _blocks(m) for m in _with_card(app, thread_ts))
        ),
        timeout=20,
    )
    # The card was updated in place: the same message, now with the final figures and
    # no "still enriching" alert; nothing was posted anew for it.
    [card_message] = _with_card(app, thread_ts)
    assert card_message["ts"] == posted["ts"]
    [card] = [b for b in card_message["blocks"] if b["type"] == "card"]
    assert card["body"]["text"] == "New table · 76 credits used"
    assert not any(b["type"] == "alert" for b in card_message["blocks"])
    updates = [
        c for c in app.slack.calls("chat.update") if c.args.get("ts") == posted["ts"] and c.ok
    ]
    assert updates
    [line] = _enriched(app, thread_ts)
    assert line["text"] == (
        "✅ Austin SaaS founders is fully enriched: 20 leads, 14 qualified, 76 credits used."
    )
    # The table was re-read under the app's own key, and is no longer once it is done.
    reads = app.origami.requests("GET", f"/tables/{table['id']}")
    assert reads and all(r.status == 200 for r in reads)
    assert {r.headers["Authorization"] for r in reads} == {f"Bearer {app.origami.api_key}"}
    await asyncio.sleep(1.0)  # five re-read intervals
    assert len(app.origami.requests("GET", f"/tables/{table['id']}")) == len(reads)
    assert len(_enriched(app, thread_ts)) == 1
