"""The Slack presenter against the fake Slack: crash windows of a delivery."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot.assembly import assemble
from bot.delivery import Delivery
from bot.domain import Prompt, ThreadRef
from bot.origami.client import OrigamiClient, RetryPolicy, build_http_client
from bot.origami.models import Run
from bot.sending import SendConfig
from bot.slack.agent_surface import SlackAgentSurface
from bot.slack.app import build_web_client
from bot.slack.presenter import SlackPresenter
from bot.stores import Stores
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


async def test_parts_are_found_by_their_owner_after_a_time(slack: FakeSlack) -> None:
    presenter = SlackPresenter(build_web_client(slack.bot_token, slack.api_url))
    thread_ts = new_ts()
    slack.add_message(CHANNEL_ID, "find founders", ts=thread_ts)
    thread = ThreadRef("T0001", CHANNEL_ID, thread_ts)
    before = time.time() - 1
    ack = await presenter.post(thread, "ack-p1", presenter.acknowledgement())
    (part,) = presenter.result_parts(_run(), 3.0)
    result = await presenter.post(thread, "v2_run-abc", part)
    assert await presenter.find_posted(thread, "ack-p1", before) == {"ack": ack}
    assert await presenter.find_posted(thread, "v2_run-abc", before) == {part.name: result}
    assert await presenter.find_posted(thread, "ack-p2", before) == {}
    # Only what was posted after ``since`` is looked at.
    assert await presenter.find_posted(thread, "ack-p1", time.time() + 60) == {}


async def test_a_part_posted_but_not_recorded_is_found_not_posted_again(
    slack: FakeSlack, stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    presenter = SlackPresenter(build_web_client(slack.bot_token, slack.api_url))
    delivery = Delivery(stores, presenter)
    thread_ts = new_ts()
    slack.add_message(CHANNEL_ID, "find founders", ts=thread_ts)
    thread = ThreadRef("T0001", CHANNEL_ID, thread_ts)
    parts = presenter.result_parts(_run(), 3.0)
    real_record = stores.deliveries.record

    async def die(*args: Any) -> None:
        raise Crash  # the process dies right after Slack took the post

    monkeypatch.setattr(stores.deliveries, "record", die)
    with pytest.raises(Crash):
        await delivery.post_once(thread, "v2_run-abc", parts)
    monkeypatch.setattr(stores.deliveries, "record", real_record)
    # Another process delivers again: the part is found in the thread by its metadata.
    posted = await delivery.post_once(thread, "v2_run-abc", parts)
    results = [m for m in slack.messages(CHANNEL_ID, thread_ts) if m.get("bot_id")]
    assert len(results) == 1
    assert posted.ts == {parts[0].name: results[0]["ts"]}
    # And recorded now: a third delivery does not even look.
    looked = len(slack.calls("conversations.replies"))
    await delivery.post_once(thread, "v2_run-abc", parts)
    assert len(slack.calls("conversations.replies")) == looked


@dataclass
class Conversation:
    """A mention handled by the real use cases, presenter and watcher; fake Origami and Slack."""

    watcher: Watcher
    thread_ts: str

    def results(self, slack: FakeSlack, text: str) -> list[dict[str, object]]:
        return [
            m for m in slack.messages(CHANNEL_ID, self.thread_ts) if text in str(m.get("blocks"))
        ]


@contextlib.asynccontextmanager
async def _conversation(slack: FakeSlack, stores: Stores, text: str) -> AsyncIterator[Conversation]:
    async with FakeOrigami(retry_after="0.1") as origami_fake:
        origami = OrigamiClient(
            build_http_client(origami_fake.url, origami_fake.api_key),
            retry=RetryPolicy(base_delay=0.01),
        )
        client = build_web_client(slack.bot_token, slack.api_url)
        presenter = SlackPresenter(client)
        core = assemble(
            stores,
            origami,
            presenter,
            SendConfig(first_poll_s=0.05),
            WatcherConfig(lease_s=5, error_backoff_s=0.2, idle_s=0.02),
            surface=SlackAgentSurface(client),
        )
        thread_ts = new_ts()
        slack.add_message(CHANNEL_ID, "find founders", ts=thread_ts)
        origami_fake.script(RunScript(polls=0, text=text))
        try:
            await core.conversations.intake.take(
                ThreadRef("T0001", CHANNEL_ID, thread_ts),
                Prompt("find founders", "U1", "C:1"),
                may_start=True,
            )
            yield Conversation(core.watcher, thread_ts)
        finally:
            await origami.aclose()


async def test_a_failed_result_post_is_retried_by_the_watcher_not_lost(
    slack: FakeSlack, stores: Stores
) -> None:
    async with _conversation(slack, stores, "Delivered in the end") as conv:
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
    slack: FakeSlack, stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_release = stores.threads.release
    calls = 0

    async def die_once(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise Crash  # posted and recorded; the thread not released
        return await real_release(*args, **kwargs)

    monkeypatch.setattr(stores.threads, "release", die_once)
    async with _conversation(slack, stores, "Posted once") as conv:
        for _ in range(200):
            await conv.watcher.tick()
            if calls >= 2 and await stores.schedule.count() == 0:
                break
            await asyncio.sleep(0.05)
        assert calls == 2
        assert len(conv.results(slack, "Posted once")) == 1
        # The second delivery found every part recorded: nothing to look up or post.
        assert not slack.calls("conversations.replies")


async def test_an_answer_too_long_for_slack_goes_along_whole_as_a_file_once(
    slack: FakeSlack, stores: Stores, monkeypatch: pytest.MonkeyPatch
) -> None:
    presenter = SlackPresenter(build_web_client(slack.bot_token, slack.api_url))
    delivery = Delivery(stores, presenter)
    thread_ts = new_ts()
    slack.add_message(CHANNEL_ID, "find founders", ts=thread_ts)
    thread = ThreadRef("T0001", CHANNEL_ID, thread_ts)
    answer = "\n\n".join(f"Paragraph {i}: " + "lead " * 400 for i in range(60))
    run = Run.model_validate(
        {
            "id": "v2_run-long",
            "agentId": "a-1",
            "status": "completed",
            "response": {"text": answer, "actions": [], "tables": []},
        }
    )
    parts = presenter.result_parts(run, 3.0)
    assert parts[-1].name == "full-answer"
    real_record = stores.deliveries.record

    async def die(*args: Any) -> None:
        raise Crash  # posted (the file too), nothing recorded

    monkeypatch.setattr(stores.deliveries, "record", die)
    with pytest.raises(Crash):
        await delivery.post_once(thread, run.id, parts)
    monkeypatch.setattr(stores.deliveries, "record", real_record)
    posted = await delivery.post_once(thread, run.id, parts)
    assert set(posted.ts) == {p.name for p in parts}
    uploads = slack.calls("files.completeUploadExternal")
    assert len(uploads) == 1
    (shared,) = [m for m in slack.messages(CHANNEL_ID, thread_ts) if m.get("files")]
    assert shared["files"][0]["name"] == "origami-answer-v2_run-long.md"
    # Every message of the thread fits Slack (the fake refuses what does not).
    assert slack.rejections == []
