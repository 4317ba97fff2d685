"""Pure payload helpers: what a Slack event means."""

from __future__ import annotations

from typing import Any

import pytest

from bot.slack import payloads


def _event(**fields: Any) -> dict[str, Any]:
    return {"type": "message", "channel": "C1", "user": "U1", "ts": "1.0", "text": "hi", **fields}


@pytest.mark.parametrize(
    ("event", "human"),
    [
        (_event(), True),
        (_event(subtype="file_share", files=[{"id": "F1"}]), True),
        (_event(subtype="thread_broadcast"), True),
        (_event(bot_id="B1"), False),
        (_event(subtype="bot_message"), False),
        (_event(subtype="message_changed"), False),
        (_event(subtype="message_deleted"), False),
        (_event(subtype="channel_join"), False),
        (_event(subtype="some_future_subtype"), False),
        ({k: v for k, v in _event().items() if k != "user"}, False),
    ],
)
def test_is_human_message(event: dict[str, Any], human: bool) -> None:
    assert payloads.is_human_message(event) is human


def test_prompt_text_drops_the_mention_only() -> None:
    text = "<@UBOT> find 20 founders in <#C1|austin> for <@U2>"
    assert payloads.to_prompt_text(text, "UBOT") == "find 20 founders in <#C1|austin> for <@U2>"
    assert payloads.to_prompt_text("<@UBOT|origami>   ", "UBOT") == ""
    assert payloads.mentions(text, "UBOT") and not payloads.mentions("hello", "UBOT")


def test_event_thread_is_the_thread_or_the_message() -> None:
    body = {"team_id": "T1", "event": _event(ts="2.0")}
    assert payloads.to_event_thread(body).thread_ts == "2.0"
    body = {"team_id": "T1", "event": _event(ts="2.0", thread_ts="1.0")}
    thread = payloads.to_event_thread(body)
    assert (thread.team, thread.channel, thread.thread_ts) == ("T1", "C1", "1.0")


def test_action_thread_of_a_threaded_and_a_top_level_message() -> None:
    body = {
        "team": {"id": "T1"},
        "user": {"id": "U1"},
        "channel": {"id": "C1"},
        "container": {"message_ts": "5.0", "thread_ts": "1.0"},
        "message": {"ts": "5.0", "thread_ts": "1.0"},
    }
    assert payloads.to_action_thread(body).thread_ts == "1.0"
    assert payloads.to_action_message_ts(body) == "5.0"
    assert payloads.to_user(body) == "U1"
    top = {**body, "container": {"message_ts": "7.0"}, "message": {"ts": "7.0"}}
    assert payloads.to_action_thread(top).thread_ts == "7.0"


def test_a_mention_and_its_message_event_share_one_identity() -> None:
    mention = {**_event(), "type": "app_mention"}
    assert payloads.message_identity(mention) == payloads.message_identity(_event())
    assert payloads.message_identity(_event()) == "msg:C1:1.0"
