"""The Slack presenter against the fake Slack: crash windows of a delivery."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.bridge import ThreadRef
from bot.origami.models import Run
from bot.slack.app import build_web_client
from bot.slack.presenter import SlackPresenter
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
