"""The Slack presenter against the fake Slack: crash windows of a delivery."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot.bridge import Bridge, BridgeConfig, Prompt, ThreadRef
from bot.origami.client import OrigamiClient, RetryPolicy, build_http_client
from bot.origami.models import Run
from bot.slack.app import build_web_client
from bot.slack.presenter import SlackPresenter
from bot.store import Store
from bot.watcher import Watcher, WatcherConfig
from tests.fakes.origami import FakeOrigami, RunScript
from tests.fakes.payloads import CHANNEL_ID, new_ts
from tests.fakes.slack import FakeSlack


class Crash(Exception):
    pass


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


def _run() -> Run:
    return Run.model_validate(
        {
            "id": "v2_run-abc",
            "agentId": "a-1",
            "status": "completed",
            "response": {"text": "Found 20 founders.", "actions": [], "tables": []},
        }
    )


async def test_a_part_posted_but_not_recorded_is_found_not_posted_again(slack: FakeSlack) -> None:
    presenter = SlackPresenter(build_web_client(slack.bot_token, slack.api_url))
    thread_ts = new_ts()
    slack.add_message(CHANNEL_ID, "find founders", ts=thread_ts)
    thread = ThreadRef("T0001", CHANNEL_ID, thread_ts)
    posted: dict[str, str] = {}

    async def record_then_die(part: str, ts: str) -> None:
        if part.startswith("result:"):
            raise Crash  # the process dies right after Slack took the post
        posted[part] = ts

    with pytest.raises(Crash):
        await presenter.result(thread, _run(), 3.0, dict(posted), record_then_die)
    assert posted == {"intent:result:0": "1"}

    async def record(part: str, ts: str) -> None:
        posted[part] = ts

    # Another process delivers again: the part is found in the thread by its metadata.
    await presenter.result(thread, _run(), 3.0, dict(posted), record)
    results = [m for m in slack.messages(CHANNEL_ID, thread_ts) if m.get("bot_id")]
    assert len(results) == 1
    assert posted["result:0"] == results[0]["ts"]


async def test_an_acknowledgement_is_found_by_its_cause(slack: FakeSlack) -> None:
    presenter = SlackPresenter(build_web_client(slack.bot_token, slack.api_url))
    thread_ts = new_ts()
    slack.add_message(CHANNEL_ID, "find founders", ts=thread_ts)
    thread = ThreadRef("T0001", CHANNEL_ID, thread_ts)
    ts = await presenter.acknowledge(thread, f"{CHANNEL_ID}:{thread_ts}")
    assert await presenter.find_acknowledgement(thread, f"{CHANNEL_ID}:{thread_ts}") == ts
    assert await presenter.find_acknowledgement(thread, "another message") is None


@dataclass
class Conversation:
    """A mention handled by the real bridge, presenter and watcher; fake Origami and Slack."""

    watcher: Watcher
    thread_ts: str

    def results(self, slack: FakeSlack, text: str) -> list[dict[str, object]]:
        return [
            m for m in slack.messages(CHANNEL_ID, self.thread_ts) if text in str(m.get("blocks"))
        ]


@contextlib.asynccontextmanager
async def _conversation(slack: FakeSlack, store: Store, text: str) -> AsyncIterator[Conversation]:
    async with FakeOrigami(retry_after="0.1") as origami_fake:
        origami = OrigamiClient(
            build_http_client(origami_fake.url, origami_fake.api_key),
            retry=RetryPolicy(base_delay=0.01),
        )
        presenter = SlackPresenter(build_web_client(slack.bot_token, slack.api_url))
        bridge = Bridge(store, origami, presenter, BridgeConfig(first_poll_s=0.05))
        watcher = Watcher(
            store, origami, bridge, WatcherConfig(lease_s=5, error_backoff_s=0.2, idle_s=0.02)
        )
        thread_ts = new_ts()
        slack.add_message(CHANNEL_ID, "find founders", ts=thread_ts)
        origami_fake.script(RunScript(polls=0, text=text))
        try:
            await bridge.start_conversation(
                ThreadRef("T0001", CHANNEL_ID, thread_ts), Prompt("find founders", "U1", "C:1")
            )
            yield Conversation(watcher, thread_ts)
        finally:
            await origami.aclose()


async def test_a_failed_result_post_is_retried_by_the_watcher_not_lost(
    slack: FakeSlack, store: Store
) -> None:
    async with _conversation(slack, store, "Delivered in the end") as conv:
        # Slack fails the result post for a while (beyond slack_sdk's own retries).
        slack.fail("chat.postMessage", times=3, error="internal_error")
        for _ in range(200):
            await conv.watcher.tick()
            texts = [m.get("text", "") for m in slack.messages(CHANNEL_ID, conv.thread_ts)]
            if any("Finished" in t for t in texts):
                break
            await asyncio.sleep(0.05)
        assert len(conv.results(slack, "Delivered in the end")) == 1
        assert len([c for c in slack.calls("chat.postMessage") if c.error]) == 3


async def test_a_delivery_cut_short_after_its_post_does_not_post_twice(
    slack: FakeSlack, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_release = store.release_thread
    calls = 0

    async def die_once(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise Crash  # posted and marked final in Slack; none of it written in Redis
        return await real_release(*args, **kwargs)

    monkeypatch.setattr(store, "release_thread", die_once)
    async with _conversation(slack, store, "Posted once") as conv:
        for _ in range(200):
            await conv.watcher.tick()
            if calls >= 2 and await store.scheduled_count() == 0:
                break
            await asyncio.sleep(0.05)
        assert calls == 2
        assert len(conv.results(slack, "Posted once")) == 1
        # The second delivery looked the post up instead of making it again.
        assert slack.calls("conversations.replies")
