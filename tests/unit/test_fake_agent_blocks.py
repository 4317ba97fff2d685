"""The fake Slack refuses what Slack refuses in the agent platform's blocks (table, card,
carousel, alert, context_actions with feedback_buttons), and takes what Slack takes, on
its validator and over HTTP with slack_sdk's client."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack import FakeSlack, message_errors

JSON = dict[str, Any]


def raw(text: str) -> JSON:
    return {"type": "raw_text", "text": text}


def rich(*texts: str) -> JSON:
    return {
        "type": "rich_text",
        "elements": [
            {"type": "rich_text_section", "elements": [{"type": "text", "text": t}]} for t in texts
        ],
    }


def table(rows: int = 2, cells: int = 3, **extra: Any) -> JSON:
    return {
        "type": "table",
        "rows": [[raw(f"r{r}c{c}") for c in range(cells)] for r in range(rows)],
        **extra,
    }


def button(action_id: str) -> JSON:
    return {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": "Go"}}


def card(**fields: Any) -> JSON:
    return {"type": "card", "title": {"type": "mrkdwn", "text": "Leads"}, **fields}


def feedback(**sides: Any) -> JSON:
    good = {"text": {"type": "plain_text", "text": "Good"}, "value": "r:good"}
    bad = {"text": {"type": "plain_text", "text": "Bad"}, "value": "r:bad"}
    element = {"type": "feedback_buttons", "action_id": "fb", "positive_button": good}
    element["negative_button"] = bad
    element.update(sides)
    return {"type": "context_actions", "elements": [element]}


def errors(*blocks: JSON) -> list[str]:
    return message_errors(list(blocks), "fallback")


def test_valid_agent_blocks_pass() -> None:
    link = {
        "type": "rich_text",
        "elements": [
            {"type": "rich_text_section", "elements": [{"type": "link", "url": "https://x.y"}]}
        ],
    }
    number = {"type": "raw_number", "value": 3, "text": "3"}
    assert (
        errors(
            {"type": "table", "rows": [[raw("a"), link, number]], "column_settings": [None]},
            card(subtitle={"type": "mrkdwn", "text": "20"}, actions=[button("a"), button("b")]),
            {"type": "carousel", "elements": [card(), card(block_id="c2")]},
            {"type": "alert", "level": "warning", "text": {"type": "mrkdwn", "text": "Low"}},
            feedback(),
        )
        == []
    )
    assert errors(table(rows=100, cells=20)) == []


@pytest.mark.parametrize(
    ("block", "where"),
    [
        (table(rows=101), "/blocks/0/rows"),
        (table(cells=21), "/blocks/0/rows/0"),
        ({"type": "table", "rows": []}, "/blocks/0/rows"),
        ({"type": "table", "rows": [[raw("a")], [raw("a"), raw("b")]]}, "/blocks/0/rows/1"),
        ({"type": "table", "rows": [[raw("")]]}, "/blocks/0/rows/0/0/text"),
        ({"type": "table", "rows": [[{"type": "mrkdwn", "text": "x"}]]}, "/blocks/0/rows/0/0/type"),
        (table(column_settings=[{"align": "middle"}]), "/blocks/0/column_settings/0/align"),
        (table(column_settings=[{}] * 21), "/blocks/0/column_settings"),
        (card(title={"type": "mrkdwn", "text": "t" * 151}), "/blocks/0/title/text"),
        (card(subtitle={"type": "mrkdwn", "text": "s" * 151}), "/blocks/0/subtitle/text"),
        (card(body={"type": "mrkdwn", "text": "b" * 201}), "/blocks/0/body/text"),
        (card(actions=[button(f"a{n}") for n in range(4)]), "/blocks/0/actions"),
        (card(actions=[{"type": "static_select", "action_id": "s"}]), "/blocks/0/actions/0/type"),
        ({"type": "card"}, "/blocks/0"),
        ({"type": "carousel", "elements": []}, "/blocks/0/elements"),
        ({"type": "carousel", "elements": [card()] * 11}, "/blocks/0/elements"),
        ({"type": "carousel", "elements": [{"type": "section"}]}, "/blocks/0/elements/0/type"),
        ({"type": "alert", "level": "loud", "text": {"type": "mrkdwn", "text": "x"}}, "level"),
        ({"type": "alert", "text": {"type": "mrkdwn", "text": "x" * 3001}}, "/blocks/0/text/text"),
        ({"type": "alert"}, "/blocks/0/text"),
        ({"type": "context_actions", "elements": []}, "/blocks/0/elements"),
        ({"type": "context_actions", "elements": [button("b")]}, "/blocks/0/elements/0/type"),
        (feedback(action_id=None), "/blocks/0/elements/0/action_id"),
        (feedback(positive_button=None), "positive_button"),
        (
            feedback(
                negative_button={"text": {"type": "plain_text", "text": "x" * 76}, "value": "v"}
            ),
            "negative_button/text/text",
        ),
        (
            feedback(negative_button={"text": {"type": "mrkdwn", "text": "x"}, "value": "v"}),
            "negative_button/text",
        ),
        (
            feedback(
                positive_button={"text": {"type": "plain_text", "text": "x"}, "value": "v" * 2001}
            ),
            "positive_button/value",
        ),
        (
            feedback(
                positive_button={
                    "text": {"type": "plain_text", "text": "x"},
                    "value": "v",
                    "accessibility_label": "l" * 76,
                }
            ),
            "accessibility_label",
        ),
        ({"type": "task_card", "title": "t"}, "/blocks/0/task_id"),
        ({"type": "task_card", "task_id": "1"}, "/blocks/0/title"),
        ({"type": "task_card", "task_id": "1", "title": "t", "status": "done"}, "status"),
        (
            {"type": "task_card", "task_id": "1", "title": "t", "output": {"type": "mrkdwn"}},
            "/blocks/0/output/type",
        ),
        (
            {"type": "task_card", "task_id": "1", "title": "t", "details": rich("x", "y")},
            "/blocks/0/details/elements",
        ),
        (
            {"type": "task_card", "task_id": "1", "title": "t", "output": rich("x" * 3001)},
            "/blocks/0/output",
        ),
        ({"type": "plan", "tasks": []}, "/blocks/0/title"),
        ({"type": "plan", "title": "p", "tasks": [{"type": "card"}]}, "/blocks/0/tasks/0/type"),
    ],
)
def test_broken_agent_blocks_are_invalid_blocks(block: JSON, where: str) -> None:
    found = errors(block)
    assert found, block
    assert all(e.startswith("invalid_blocks: ") for e in found)
    assert any(where in e for e in found), found


def test_one_table_per_message() -> None:
    assert errors(table(), table()) == ["only_one_table_allowed: 2 table blocks"]


async def test_the_fake_answers_slack_errors_for_agent_blocks(fake: FakeSlack) -> None:
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    with pytest.raises(SlackApiError) as two:
        await client.chat_postMessage(channel="C1", text="t", blocks=[table(), table()])
    assert two.value.response["error"] == "only_one_table_allowed"
    with pytest.raises(SlackApiError) as bad:
        await client.chat_postMessage(channel="C1", text="t", blocks=[table(rows=101)])
    assert bad.value.response["error"] == "invalid_blocks"
    posted = await client.chat_postMessage(channel="C1", text="t", blocks=[table(), feedback()])
    assert posted["ok"]
    assert [c.error for c in fake.rejections] == ["only_one_table_allowed", "invalid_blocks"]
