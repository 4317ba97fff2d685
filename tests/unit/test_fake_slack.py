"""The fake Slack server, driven by slack_sdk's real clients; plus signing and payloads."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.fakes import payloads
from tests.fakes.signing import signed_headers, stale_timestamp
from tests.fakes.slack import MAX_UPDATE_TEXT, FakeSlack, message_errors

JSON = dict[str, Any]
CHANNEL = "C0CHAN"


def section(text: str, **extra: Any) -> JSON:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def button(action_id: str, text: str = "Go", **extra: Any) -> JSON:
    return {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": text},
        **extra,
    }


def actions(*elements: JSON, **extra: Any) -> JSON:
    return {"type": "actions", "elements": list(elements), **extra}


async def error_of(call: Any) -> str:
    with pytest.raises(SlackApiError) as info:
        await call
    return str(info.value.response["error"])


# -- Web API round trips -------------------------------------------------------------------


async def test_post_update_replies_round_trip(fake: FakeSlack, client: AsyncWebClient) -> None:
    parent = fake.add_message(CHANNEL, "<@UBOT> find founders", user="U1")
    blocks = [section("working…"), actions(button("stop", value="run_1"))]
    posted = await client.chat_postMessage(
        channel=CHANNEL,
        thread_ts=parent,
        text="working",
        blocks=blocks,
        metadata={"event_type": "origami_result", "event_payload": {"run_id": "r1"}},
    )
    assert posted["message"]["blocks"] == blocks and "metadata" not in posted["message"]
    await client.chat_update(channel=CHANNEL, ts=posted["ts"], text="done", blocks=[section("ok")])

    plain = await client.conversations_replies(channel=CHANNEL, ts=parent)
    assert [m["ts"] for m in plain["messages"]] == [parent, posted["ts"]]
    assert plain["messages"][0]["reply_count"] == 1
    reply = plain["messages"][1]
    assert reply["text"] == "done" and reply["blocks"] == [section("ok")]
    assert reply["thread_ts"] == parent and reply["bot_id"] == "BBOT" and "metadata" not in reply

    full = await client.conversations_replies(channel=CHANNEL, ts=parent, include_all_metadata=True)
    assert full["messages"][1]["metadata"]["event_payload"] == {"run_id": "r1"}

    call = fake.calls("chat.postMessage")[0]
    assert call.args["blocks"] == blocks and call.args["thread_ts"] == parent
    assert call.headers["Authorization"] == f"Bearer {fake.bot_token}"
    assert "application/json" in call.headers["Content-Type"]
    assert [m["ts"] for m in fake.messages(CHANNEL, parent)] == [parent, posted["ts"]]
    assert fake.rejections == []


async def test_form_encoded_calls_and_token_field(fake: FakeSlack) -> None:
    # A client without a token sends it as a form field, and blocks as a JSON string.
    anonymous = AsyncWebClient(base_url=fake.api_url)
    blocks = [section("hi")]
    await anonymous.api_call(
        "chat.postMessage",
        data={
            "token": fake.bot_token,
            "channel": CHANNEL,
            "text": "hi",
            "blocks": json.dumps(blocks),
        },
    )
    call = fake.calls("chat.postMessage")[0]
    assert "x-www-form-urlencoded" in call.headers["Content-Type"]
    assert call.args["blocks"] == blocks and "token" not in call.args
    assert fake.messages(CHANNEL)[0]["blocks"] == blocks


async def test_auth_and_unknown_method(fake: FakeSlack, client: AsyncWebClient) -> None:
    auth = await client.auth_test()
    assert (auth["user_id"], auth["bot_id"], auth["team_id"]) == ("UBOT", "BBOT", "T0001")
    no_token = AsyncWebClient(base_url=fake.api_url)
    wrong = AsyncWebClient(base_url=fake.api_url, token="xoxb-wrong")
    app_level = AsyncWebClient(base_url=fake.api_url, token=fake.app_token)
    assert await error_of(no_token.chat_postMessage(channel=CHANNEL, text="x")) == "not_authed"
    assert await error_of(wrong.chat_postMessage(channel=CHANNEL, text="x")) == "invalid_auth"
    assert (
        await error_of(app_level.chat_postMessage(channel=CHANNEL, text="x"))
        == "not_allowed_token_type"
    )
    assert await error_of(client.apps_connections_open(app_token="xapp-nope")) == "invalid_auth"
    assert await error_of(client.api_call("chat.frobnicate")) == "unknown_method"
    opened = await client.apps_connections_open(app_token=fake.app_token)
    assert opened["url"].startswith(fake.socket_url + "?ticket=")


async def test_update_and_delete_errors(fake: FakeSlack, client: AsyncWebClient) -> None:
    theirs = fake.add_message(CHANNEL, "a person's message")
    assert await error_of(client.chat_update(channel=CHANNEL, ts="1.000001", text="x")) == (
        "message_not_found"
    )
    assert await error_of(client.chat_update(channel=CHANNEL, ts=theirs, text="x")) == (
        "cant_update_message"
    )
    mine = await client.chat_postMessage(channel=CHANNEL, text="x")
    # api_call: the chat_update helper warns about the missing text before sending.
    no_text = client.api_call("chat.update", json={"channel": CHANNEL, "ts": mine["ts"]})
    assert await error_of(no_text) == "no_text"
    await client.chat_delete(channel=CHANNEL, ts=mine["ts"])
    assert fake.message(CHANNEL, mine["ts"]) is None


async def test_replies_put_the_parent_first_whatever_the_range(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    parent = fake.add_message(CHANNEL, "start")
    replies = [
        (await client.chat_postMessage(channel=CHANNEL, thread_ts=parent, text=f"r{i}"))["ts"]
        for i in range(3)
    ]
    # Asking for a reply by ts with oldest=latest=ts still returns the parent first.
    one = await client.conversations_replies(
        channel=CHANNEL, ts=replies[1], oldest=replies[1], latest=replies[1], inclusive=True
    )
    assert [m["ts"] for m in one["messages"]] == [parent, replies[1]]
    # ...and the parent uses up a slot of limit.
    limited = await client.conversations_replies(
        channel=CHANNEL,
        ts=replies[1],
        oldest=replies[1],
        latest=replies[1],
        inclusive=True,
        limit=1,
    )
    assert [m["ts"] for m in limited["messages"]] == [parent] and limited["has_more"]
    # Later pages carry replies only.
    first = await client.conversations_replies(channel=CHANNEL, ts=parent, limit=2)
    cursor = first["response_metadata"]["next_cursor"]
    second = await client.conversations_replies(channel=CHANNEL, ts=parent, limit=2, cursor=cursor)
    assert [m["ts"] for m in first["messages"]] == [parent, replies[0]]
    assert [m["ts"] for m in second["messages"]] == replies[1:]
    assert await error_of(client.conversations_replies(channel=CHANNEL, ts="9.000009")) == (
        "thread_not_found"
    )


async def test_permalink_ephemeral_reaction_user(fake: FakeSlack, client: AsyncWebClient) -> None:
    parent = fake.add_message(CHANNEL, "start")
    reply = await client.chat_postMessage(channel=CHANNEL, thread_ts=parent, text="x")
    link = await client.chat_getPermalink(channel=CHANNEL, message_ts=reply["ts"])
    digits = reply["ts"].replace(".", "")
    assert link["permalink"] == (
        f"https://fake.slack/archives/{CHANNEL}/p{digits}?thread_ts={parent}&cid={CHANNEL}"
    )
    top = await client.chat_getPermalink(channel=CHANNEL, message_ts=parent)
    assert top["permalink"] == f"https://fake.slack/archives/{CHANNEL}/p{parent.replace('.', '')}"

    eph = await client.chat_postEphemeral(
        channel=CHANNEL, user="U1", text="only you", thread_ts=parent
    )
    assert eph["message_ts"] and fake.ephemerals(CHANNEL, "U1")[0]["text"] == "only you"
    assert fake.messages(CHANNEL, parent)[-1]["ts"] == reply["ts"]  # not stored as a message

    await client.reactions_add(channel=CHANNEL, name="eyes", timestamp=parent)
    assert await error_of(client.reactions_add(channel=CHANNEL, name="eyes", timestamp=parent)) == (
        "already_reacted"
    )
    assert fake.reactions(CHANNEL, parent) == ["eyes"]

    fake.add_user("U1", name="alice", real_name="Alice Liddell")
    user = await client.users_info(user="U1")
    assert user["user"]["real_name"] == "Alice Liddell" and user["user"]["name"] == "alice"
    assert (await client.users_info(user="U2"))["user"]["name"] == "u2"
    assert await error_of(client.users_info(user="nobody")) == "user_not_found"


# -- Block Kit and text limits -------------------------------------------------------------


def n_sections(n: int) -> list[JSON]:
    return [section(f"s{i}") for i in range(n)]


def fields(n: int, size: int = 1) -> list[JSON]:
    return [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * size}] * n}]


def header(text: str, kind: str = "plain_text") -> list[JSON]:
    return [{"type": "header", "text": {"type": kind, "text": text}}]


def context(n: int) -> list[JSON]:
    return [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * n}]


def buttons(n: int) -> list[JSON]:
    return [actions(*(button(f"b{i}") for i in range(n)))]


# (name, blocks Slack accepts at the limit, blocks one past it)
BLOCK_LIMITS: list[tuple[str, list[JSON], list[JSON]]] = [
    ("50 blocks", n_sections(50), n_sections(51)),
    ("section text 3000", [section("x" * 3000)], [section("x" * 3001)]),
    ("10 fields", fields(10), fields(11)),
    ("field text 2000", fields(1, 2000), fields(1, 2001)),
    ("header 150", header("h" * 150), header("h" * 151)),
    ("header plain_text only", header("h"), header("h", "mrkdwn")),
    ("actions 25 elements", buttons(25), buttons(26)),
    ("button text 75", [actions(button("a", "t" * 75))], [actions(button("a", "t" * 76))]),
    (
        "button text plain_text only",
        [actions(button("a"))],
        [actions({"type": "button", "action_id": "a", "text": {"type": "mrkdwn", "text": "a"}})],
    ),
    (
        "button value 2000",
        [actions(button("a", value="v" * 2000))],
        [actions(button("a", value="v" * 2001))],
    ),
    (
        "button url 3000",
        [actions(button("a", url="https://x/" + "u" * 2990))],
        [actions(button("a", url="https://x/" + "u" * 2991))],
    ),
    ("action_id 255", [actions(button("a" * 255))], [actions(button("a" * 256))]),
    (
        "action_id unique in its block",
        [actions(button("a")), actions(button("a"))],
        [actions(button("a"), button("a"))],
    ),
    ("block_id 255", [section("x", block_id="b" * 255)], [section("x", block_id="b" * 256)]),
    (
        "block_id unique in the message",
        [section("x", block_id="b1"), section("y", block_id="b2")],
        [section("x", block_id="b1"), section("y", block_id="b1")],
    ),
    ("context 10 elements", context(10), context(11)),
    (
        "text object type",
        [section("x")],
        [{"type": "section", "text": {"type": "markdown", "text": "x"}}],
    ),
    ("section needs text or fields", [section("x")], [{"type": "section"}]),
    ("mrkdwn text not empty", [section("x")], [section("")]),
    (
        "no emoji flag on mrkdwn",
        [{"type": "section", "text": {"type": "plain_text", "text": "x", "emoji": True}}],
        [{"type": "section", "text": {"type": "mrkdwn", "text": "x", "emoji": True}}],
    ),
    ("known block types", [{"type": "divider"}], [{"type": "sparkle"}]),
    ("block_id not empty", [section("x", block_id="b")], [section("x", block_id="")]),
    ("action_id not empty", [actions(button("a"))], [actions(button(""))]),
    ("text not only spaces", [section(" x ")], [section(" \n ")]),
    (
        "context text 3000",
        [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c" * 3000}]}],
        [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c" * 3001}]}],
    ),
    (
        "button url not empty",
        [actions(button("a", url="https://x"))],
        [actions(button("a", url=""))],
    ),
    (
        "markdown blocks 12000 together",
        [{"type": "markdown", "text": "m" * 6000}] * 2,
        [{"type": "markdown", "text": "m" * 6000}, {"type": "markdown", "text": "m" * 6001}],
    ),
]


@pytest.mark.parametrize(
    ("ok_blocks", "bad_blocks"), [c[1:] for c in BLOCK_LIMITS], ids=[c[0] for c in BLOCK_LIMITS]
)
async def test_block_limits(
    fake: FakeSlack, client: AsyncWebClient, ok_blocks: list[JSON], bad_blocks: list[JSON]
) -> None:
    await client.chat_postMessage(channel=CHANNEL, text="ok", blocks=ok_blocks)
    with pytest.raises(SlackApiError) as info:
        await client.chat_postMessage(channel=CHANNEL, text="bad", blocks=bad_blocks)
    assert info.value.response["error"] == "invalid_blocks"
    assert all("[json-pointer:/blocks" in m for m in info.value.response["errors"])
    assert len(fake.messages(CHANNEL)) == 1  # rejected whole
    # chat.update and chat.postEphemeral check blocks the same way.
    ts = fake.messages(CHANNEL)[0]["ts"]
    assert await error_of(
        client.chat_update(channel=CHANNEL, ts=ts, text="x", blocks=bad_blocks)
    ) == ("invalid_blocks")
    assert (
        await error_of(
            client.chat_postEphemeral(channel=CHANNEL, user="U1", text="x", blocks=bad_blocks)
        )
        == "invalid_blocks"
    )
    assert [c.error for c in fake.rejections] == ["invalid_blocks"] * 3


async def test_text_limits(fake: FakeSlack, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel=CHANNEL, text="x" * 40_000)
    assert await error_of(client.chat_postMessage(channel=CHANNEL, text="x" * 40_001)) == (
        "msg_too_long"
    )
    await client.chat_update(channel=CHANNEL, ts=posted["ts"], text="x" * 4_000)
    assert await error_of(
        client.chat_update(channel=CHANNEL, ts=posted["ts"], text="x" * 4_001)
    ) == ("msg_too_long")
    empty = client.api_call("chat.postMessage", json={"channel": CHANNEL, "blocks": []})
    assert await error_of(empty) == "no_text"
    # Each section is fine alone; together they pass Slack's undocumented total.
    assert (
        await error_of(
            client.chat_postMessage(channel=CHANNEL, text="x", blocks=[section("y" * 3000)] * 5)
        )
        == "msg_blocks_too_long"
    )
    assert [c.error for c in fake.rejections] == [
        "msg_too_long",
        "msg_too_long",
        "no_text",
        "msg_blocks_too_long",
    ]


def test_message_errors_is_what_the_fake_answers() -> None:
    # The tests' validator for built messages, without a server.
    assert message_errors([section("x" * 3000)], "t") == []
    [bad] = message_errors([section("x" * 3001)], "t")
    assert bad.startswith("invalid_blocks: must be less than 3001 characters")
    assert bad.endswith("[json-pointer:/blocks/0/text/text]")
    assert message_errors([], "x" * 4001) == []
    assert message_errors([], "x" * 4001, max_text=MAX_UPDATE_TEXT) == [
        "msg_too_long: text of 4001 characters > 4000"
    ]
    assert message_errors([section("y" * 3000)] * 5, "t") == [
        "msg_blocks_too_long: 15000 characters of text > 12000"
    ]


def modal(**overrides: Any) -> JSON:
    view: JSON = {
        "type": "modal",
        "callback_id": "answer",
        "title": {"type": "plain_text", "text": "Your answer"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": "{}",
        "blocks": [text_input()],
    }
    view.update(overrides)
    return view


def text_input(label: str = "Answer", max_length: int = 3000, **element: Any) -> JSON:
    return {
        "type": "input",
        "block_id": "answer",
        "label": {"type": "plain_text", "text": label},
        "element": {
            "type": "plain_text_input",
            "action_id": "text",
            "max_length": max_length,
            **element,
        },
    }


def plain(text: str) -> JSON:
    return {"type": "plain_text", "text": text}


MODAL_LIMITS: list[tuple[str, JSON, JSON]] = [
    ("100 blocks", modal(blocks=n_sections(100)), modal(blocks=n_sections(101))),
    ("title 24", modal(title=plain("t" * 24)), modal(title=plain("t" * 25))),
    ("submit 24", modal(submit=plain("s" * 24)), modal(submit=plain("s" * 25))),
    ("close 24", modal(close=plain("c" * 24)), modal(close=plain("c" * 25))),
    (
        "private_metadata 3000",
        modal(private_metadata="m" * 3000),
        modal(private_metadata="m" * 3001),
    ),
    ("callback_id 255", modal(callback_id="c" * 255), modal(callback_id="c" * 256)),
    ("label 2000", modal(blocks=[text_input("l" * 2000)]), modal(blocks=[text_input("l" * 2001)])),
    (
        "max_length 3000",
        modal(blocks=[text_input(max_length=3000)]),
        modal(blocks=[text_input(max_length=3001)]),
    ),
    (
        "min_length up to max_length",
        modal(blocks=[text_input(max_length=10, min_length=10)]),
        modal(blocks=[text_input(max_length=10, min_length=11)]),
    ),
    (
        "initial_value up to max_length",
        modal(blocks=[text_input(max_length=10, initial_value="i" * 10)]),
        modal(blocks=[text_input(max_length=10, initial_value="i" * 11)]),
    ),
    ("submit needed with inputs", modal(), {k: v for k, v in modal().items() if k != "submit"}),
    (
        "section text in a modal",
        modal(blocks=[section("x" * 3000)]),
        modal(blocks=[section("x" * 3001)]),
    ),
]


@pytest.mark.parametrize(
    ("ok_view", "bad_view"), [c[1:] for c in MODAL_LIMITS], ids=[c[0] for c in MODAL_LIMITS]
)
async def test_modal_limits(
    fake: FakeSlack, client: AsyncWebClient, ok_view: JSON, bad_view: JSON
) -> None:
    opened = await client.views_open(trigger_id=fake.issue_trigger_id(), view=ok_view)
    assert opened["view"]["id"].startswith("V")
    with pytest.raises(SlackApiError) as info:
        await client.views_open(trigger_id=fake.issue_trigger_id(), view=bad_view)
    assert info.value.response["error"] == "invalid_arguments"
    assert info.value.response["response_metadata"]["messages"][0].startswith("[ERROR] ")
    assert (
        await error_of(client.views_update(view_id=opened["view"]["id"], view=bad_view))
        == "invalid_arguments"
    )
    assert len(fake.views()) == 1


async def test_trigger_ids(fake: FakeSlack, client: AsyncWebClient) -> None:
    expired = fake.issue_trigger_id(age=3.5)
    assert await error_of(client.views_open(trigger_id=expired, view=modal())) == (
        "expired_trigger_id"
    )
    unknown = payloads.new_trigger_id()
    assert await error_of(client.views_open(trigger_id=unknown, view=modal())) == (
        "expired_trigger_id"
    )
    fresh = fake.issue_trigger_id()
    opened = await client.views_open(trigger_id=fresh, view=modal())
    assert await error_of(client.views_open(trigger_id=fresh, view=modal())) == (
        "exchanged_trigger_id"
    )
    view = opened["view"]
    updated = await client.views_update(
        view_id=view["id"], hash=view["hash"], view=modal(callback_id="answer_done")
    )
    assert updated["view"]["id"] == view["id"]
    assert (
        await error_of(client.views_update(view_id=view["id"], hash=view["hash"], view=modal()))
        == "hash_conflict"
    )
    pushed = await client.views_push(trigger_id=fake.issue_trigger_id(), view=modal())
    assert [v["id"] for v in fake.views()] == [view["id"], pushed["view"]["id"]]
    assert fake.views("answer_done")[0]["id"] == view["id"]
    assert [c.error for c in fake.rejections] == [
        "expired_trigger_id",
        "expired_trigger_id",
        "exchanged_trigger_id",
    ]


async def test_pings_are_detected_not_rejected(fake: FakeSlack, client: AsyncWebClient) -> None:
    await client.chat_postMessage(channel=CHANNEL, text="safe &lt;!channel&gt; and <#C1|general>")
    assert fake.pings() == []
    posted = await client.chat_postMessage(
        channel=CHANNEL,
        text="hey <!here>",
        blocks=[section("for <@U123|bob> and <!subteam^S1|@sales>"), section("<!channel>")],
    )
    found = fake.pings()
    assert sorted(p.kind for p in found) == ["channel", "here", "subteam", "user"]
    assert {p.ts for p in found} == {posted["ts"]}
    assert [p.where for p in fake.pings(kinds=["user"])] == ["/blocks/0/text/text"]


# -- scripted faults -----------------------------------------------------------------------


async def test_rate_limit_is_retried_after_retry_after(fake: FakeSlack) -> None:
    fake.rate_limit("chat.postMessage", times=1, retry_after=1)
    retrying = AsyncWebClient(
        token=fake.bot_token,
        base_url=fake.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    started = time.monotonic()
    posted = await retrying.chat_postMessage(channel=CHANNEL, text="hi")
    assert time.monotonic() - started >= 1.0  # the handler slept Retry-After seconds
    first, second = fake.calls("chat.postMessage")
    assert (first.status, first.error, first.fault) == (429, "ratelimited", "ratelimited")
    assert second.ok and posted["ts"] == fake.messages(CHANNEL)[0]["ts"]
    assert len(fake.messages(CHANNEL)) == 1 and fake.rejections == []


async def test_rate_limit_without_retry_surfaces_the_header(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    fake.rate_limit("chat.update", retry_after=30)
    with pytest.raises(SlackApiError) as info:
        await client.chat_update(channel=CHANNEL, ts="1.0", text="x")
    assert info.value.response.status_code == 429
    assert info.value.response.headers["Retry-After"] == "30"
    assert info.value.response["error"] == "ratelimited"


async def test_fail_and_delay(fake: FakeSlack, client: AsyncWebClient) -> None:
    fake.fail("chat.postMessage", status=503)
    fake.fail("chat.postMessage", error="channel_not_found")
    with pytest.raises(SlackApiError) as info:
        await client.chat_postMessage(channel=CHANNEL, text="x")
    assert info.value.response.status_code == 503
    assert await error_of(client.chat_postMessage(channel=CHANNEL, text="x")) == "channel_not_found"
    await client.chat_postMessage(channel=CHANNEL, text="x")  # faults used up

    fake.delay("auth.test", 0.3)
    task = asyncio.create_task(client.auth_test())
    in_flight = await fake.wait_for(lambda f: f.calls("auth.test"))
    assert in_flight[0].response is None
    await task
    assert in_flight[0].ok and in_flight[0].response is not None
    assert fake.rejections == []


async def test_wait_for_call_and_timeout_dump(fake: FakeSlack, client: AsyncWebClient) -> None:
    async def later() -> None:
        await asyncio.sleep(0.05)
        await client.chat_postMessage(channel=CHANNEL, text="first")
        await client.chat_postMessage(channel=CHANNEL, text="second")

    task = asyncio.create_task(later())
    call = await fake.wait_for_call("chat.postMessage", match=lambda a: a["text"] == "second")
    await task
    assert call.ok and call.args["channel"] == CHANNEL
    with pytest.raises(AssertionError, match=r"chat.postMessage \[200"):
        await fake.wait_for_call("chat.update", timeout=0.05)


# -- files ---------------------------------------------------------------------------------


async def test_files_upload_v2_round_trip(fake: FakeSlack, client: AsyncWebClient) -> None:
    parent = fake.add_message(CHANNEL, "start")
    content = b"name,company\nAda,Analytical Engines\n"
    response = await client.files_upload_v2(
        channel=CHANNEL,
        thread_ts=parent,
        filename="leads.csv",
        title="Austin founders",
        content=content,
        initial_comment="Exported by <@U1>",
    )
    assert response["file"]["title"] == "Austin founders"
    [uploaded] = fake.files()
    assert uploaded.content == content and uploaded.length == len(content)
    assert (uploaded.title, uploaded.filename) == ("Austin founders", "leads.csv")
    assert (uploaded.channel_id, uploaded.thread_ts) == (CHANNEL, parent)
    assert uploaded.initial_comment == "Exported by <@U1>" and uploaded.completed
    share = fake.messages(CHANNEL, parent)[-1]
    assert share["files"][0]["id"] == uploaded.id and share["text"] == "Exported by <@U1>"
    assert [c.method for c in fake.calls()] == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]
    assert [p.kind for p in fake.pings()] == ["user"]


# -- Socket Mode ---------------------------------------------------------------------------


async def socket_client(
    fake: FakeSlack, respond: Callable[[SocketModeRequest], JSON | None] | None = None
) -> tuple[SocketModeClient, list[JSON]]:
    """A real slack_sdk Socket Mode client that acks every envelope (and records frames)."""
    frames: list[JSON] = []
    sm = SocketModeClient(
        app_token=fake.app_token, web_client=AsyncWebClient(base_url=fake.api_url)
    )

    async def record(_: AsyncBaseSocketModeClient, message: JSON, raw: str | None) -> None:
        frames.append(message)

    async def ack(sock: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        payload = respond(request) if respond else None
        await sock.send_socket_mode_response(
            SocketModeResponse(envelope_id=request.envelope_id, payload=payload)
        )

    sm.message_listeners.append(record)
    sm.socket_mode_request_listeners.append(ack)
    await sm.connect()
    return sm, frames


async def test_socket_mode_round_trip(fake: FakeSlack) -> None:
    sm, frames = await socket_client(
        fake, lambda r: {"response_action": "clear"} if r.type == "interactive" else None
    )
    try:
        hello = await fake.wait_for(lambda _: [f for f in frames if f.get("type") == "hello"])
        assert hello[0]["connection_info"] == {"app_id": fake.app_id}
        assert hello[0]["num_connections"] == 1
        # The client's first ping got its pong back (else it would reconnect as stale).
        await fake.wait_for(lambda _: sm.last_ping_pong_time is not None)

        event = payloads.to_socket_envelope(payloads.events_api(payloads.app_mention("hi")))
        ack = await fake.socket_send(event)
        assert ack == {"envelope_id": event["envelope_id"]}
        received = next(f for f in frames if f.get("envelope_id") == event["envelope_id"])
        assert received["type"] == "events_api" and received["retry_attempt"] == 0

        submit = payloads.to_socket_envelope(payloads.view_submission(callback_id="answer"))
        assert submit["type"] == "interactive" and submit["accepts_response_payload"]
        ack = await fake.socket_send(submit)
        assert ack["payload"] == {"response_action": "clear"}
        assert [a["envelope_id"] for a in fake.socket_acks] == [
            event["envelope_id"],
            submit["envelope_id"],
        ]
    finally:
        await sm.close()


async def test_socket_mode_round_robin_and_reconnect(fake: FakeSlack) -> None:
    first, first_frames = await socket_client(fake)
    second, second_frames = await socket_client(fake)
    try:
        await fake.wait_for(lambda f: f.socket_clients == 2)
        envelopes = [
            payloads.to_socket_envelope(payloads.events_api(payloads.app_mention(f"m{i}")))
            for i in range(4)
        ]
        for envelope in envelopes:
            await fake.socket_send(envelope)

        def ids(frames: list[JSON]) -> list[str]:
            return [f["envelope_id"] for f in frames if "envelope_id" in f]

        assert len(ids(first_frames)) == len(ids(second_frames)) == 2

        await fake.socket_disconnect()
        await fake.wait_for(lambda f: f.socket_connections_total == 4 and f.socket_clients == 2)
        again = payloads.to_socket_envelope(payloads.events_api(payloads.app_mention("again")))
        assert (await fake.socket_send(again))["envelope_id"] == again["envelope_id"]
    finally:
        await first.close()
        await second.close()


async def test_socket_send_without_ack_fails_loudly(fake: FakeSlack) -> None:
    envelope = payloads.to_socket_envelope(payloads.events_api(payloads.app_mention("hi")))
    with pytest.raises(AssertionError, match="no Socket Mode client"):
        await fake.socket_send(envelope, timeout=0.05)


# -- signing and payload builders ----------------------------------------------------------

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


def test_signed_headers_pass_slack_sdk_verifier() -> None:
    body = payloads.to_event_body(payloads.events_api(payloads.app_mention("hi")))
    verifier = SignatureVerifier(SECRET)
    headers = signed_headers(SECRET, body)
    assert headers["Content-Type"] == "application/json"
    assert verifier.is_valid_request(body, headers)
    assert not verifier.is_valid_request(body + b" ", headers)
    assert not verifier.is_valid_request(body, signed_headers("other-secret", body))
    assert not verifier.is_valid_request(
        body, signed_headers(SECRET, body, timestamp=stale_timestamp())
    )
    assert verifier.is_valid_request(
        body, signed_headers(SECRET, body, timestamp=stale_timestamp(299))
    )
    retry = signed_headers(SECRET, body, retry_num=1)
    assert (retry["X-Slack-Retry-Num"], retry["X-Slack-Retry-Reason"]) == ("1", "http_timeout")


def test_payload_shapes_and_encodings() -> None:
    dm = payloads.events_api(payloads.im_message("hello"))
    assert dm["type"] == "event_callback" and dm["event"]["channel_type"] == "im"
    assert dm["authorizations"][0]["user_id"] == "UBOT" and dm["event_id"].startswith("Ev")
    mention = payloads.app_mention("find founders")
    assert mention["text"] == "<@UBOT> find founders"
    assert mention["blocks"][0]["elements"][0]["elements"][0] == {"type": "user", "user_id": "UBOT"}
    reply = payloads.thread_reply("more", thread_ts="1.000001")
    assert reply["thread_ts"] == "1.000001" and reply["parent_user_id"]
    assert payloads.bot_message("x")["bot_id"] == "BBOT"
    assert payloads.bot_message("x", legacy=True)["subtype"] == "bot_message"
    shared = payloads.message_event("see file", files=[payloads.file_object()])
    assert shared["subtype"] == "file_share" and shared["files"][0]["name"] == "leads.csv"
    changed = payloads.message_changed(reply, new_text="edited")
    assert changed["message"]["text"] == "edited" and changed["message"]["ts"] == reply["ts"]
    assert payloads.message_deleted(reply)["deleted_ts"] == reply["ts"]
    assert payloads.channel_join("U9")["subtype"] == "channel_join"
    first, second = payloads.new_ts(), payloads.new_ts()
    assert float(first) < float(second)

    body = payloads.to_interactive_body(payloads.block_actions(payloads.button_action("go")))
    decoded = json.loads(parse_qs(body.decode())["payload"][0])
    assert decoded["type"] == "block_actions" and decoded["actions"][0]["action_id"] == "go"
    envelope = payloads.to_socket_envelope(decoded)
    assert envelope["type"] == "interactive" and not envelope["accepts_response_payload"]
    assert "retry_attempt" not in envelope


async def test_click_a_stored_message(fake: FakeSlack, client: AsyncWebClient) -> None:
    parent = fake.add_message(CHANNEL, "start")
    blocks = [section("Pick one"), actions(button("answer_0", "Yes", value="q1:0"), block_id="q1")]
    posted = await client.chat_postMessage(
        channel=CHANNEL, thread_ts=parent, text="?", blocks=blocks
    )
    stored = fake.message(CHANNEL, posted["ts"])
    assert stored is not None
    clicked = payloads.click(stored, "answer_0", channel=CHANNEL, user="U7")
    assert clicked["actions"][0] | {"action_ts": None} == {
        "type": "button",
        "action_id": "answer_0",
        "block_id": "q1",
        "text": {"type": "plain_text", "text": "Yes", "emoji": True},
        "value": "q1:0",
        "action_ts": None,
    }
    assert clicked["container"] == {
        "type": "message",
        "message_ts": posted["ts"],
        "channel_id": CHANNEL,
        "is_ephemeral": False,
        "thread_ts": parent,
    }
    assert clicked["message"]["thread_ts"] == parent and clicked["user"]["id"] == "U7"
    with pytest.raises(ValueError, match="answer_9"):
        payloads.click(stored, "answer_9")


# -- slash commands' response_url ---------------------------------------------------------


async def test_a_response_url_takes_five_messages_and_refuses_bad_blocks(fake: FakeSlack) -> None:
    hook = AsyncWebhookClient(fake.response_url())
    bad = await hook.send(text="x", blocks=[section("")])
    assert bad.status_code == 400 and bad.body == "invalid_blocks"
    assert len(fake.rejections) == 1
    for n in range(5):
        assert (await hook.send(text=f"ok {n}")).status_code == 200
    assert (await hook.send(text="sixth")).body == "used_url"
    assert [r["text"] for r in fake.responses()] == [f"ok {n}" for n in range(5)]
    unknown = AsyncWebhookClient(f"{fake.base_url}/respond/nope")
    assert (await unknown.send(text="x")).status_code == 404


async def test_posting_where_the_bot_is_not_a_member_is_not_in_channel(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    fake.leave("C0OUT")
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel="C0OUT", text="hi")
    assert raised.value.response["error"] == "not_in_channel"
    assert (await client.chat_postMessage(channel="C0IN", text="hi"))["ok"]


# -- shared files: url_private and files.info -----------------------------------------------


async def test_a_shared_files_bytes_go_to_the_bot_token_only(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    shared = fake.share_file("accounts.csv", b"a,b\n1,2\n")
    async with aiohttp.ClientSession() as session:
        auth = {"Authorization": f"Bearer {fake.bot_token}"}
        async with session.get(shared["url_private"], headers=auth) as ok:
            assert ok.status == 200 and await ok.read() == b"a,b\n1,2\n"
        async with session.get(shared["url_private"]) as anonymous:
            # Slack's sign-in page, with a 200: not the file.
            assert anonymous.status == 200 and anonymous.content_type == "text/html"
        fake.unshare_file(shared["id"])
        async with session.get(shared["url_private"], headers=auth) as gone:
            assert gone.status == 404
    assert [c.ok for c in fake.downloads()] == [True, False, False]


async def test_files_info_describes_a_slack_connect_file(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    partner = fake.share_file("partner.csv", b"x\n", connect=True)
    assert partner["file_access"] == "check_file_info" and "url_private" not in partner
    info = await client.files_info(file=partner["id"])
    assert info["file"]["name"] == "partner.csv" and info["file"]["url_private"]
    with pytest.raises(SlackApiError) as missing:
        await client.files_info(file="F0NOPE")
    assert missing.value.response["error"] == "file_not_found"
    fake.bot_scopes.remove("files:read")
    with pytest.raises(SlackApiError) as scope:
        await client.files_info(file=partner["id"])
    assert scope.value.response["error"] == "missing_scope"


# -- chat.unfurl ---------------------------------------------------------------------------


async def test_chat_unfurl_takes_only_the_pasted_urls_and_warns_on_a_bad_work_object(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    url = "https://origami.chat/workspace/w?table=t"
    event = fake.paste_links("C1", [url])
    ts = str(event["message_ts"])
    with pytest.raises(SlackApiError) as other:
        await client.chat_unfurl(
            channel="C1", ts=ts, unfurls={"https://elsewhere": {"blocks": [section("x")]}}
        )
    assert other.value.response["error"] == "cannot_unfurl_url"
    with pytest.raises(SlackApiError) as missing:
        await client.chat_unfurl(channel="C1", ts="1.2", unfurls={url: {"blocks": []}})
    assert missing.value.response["error"] == "cannot_find_message"
    bad = {"entities": [{"entity_type": "slack#/entities/nope", "url": url}]}
    warned = await client.chat_unfurl(
        channel="C1", ts=ts, unfurls={url: {"blocks": [section("ok")]}}, metadata=bad
    )
    assert warned["warning"] == "invalid_metadata_format"
    assert "entity" not in fake.unfurls("C1", ts)[url]  # the Work Object was dropped
    assert len(fake.rejections) == 2  # cannot_unfurl_url, then the dropped metadata
    by_id = await client.chat_unfurl(
        unfurl_id=str(event["unfurl_id"]),
        source="composer",
        unfurls={url: {"blocks": [section("a")]}},
    )
    assert by_id["ok"]


async def test_history_is_bounded_as_slack_bounds_it_and_refused_outside_the_channel(
    fake: FakeSlack, client: AsyncWebClient
) -> None:
    for ts in ("100.000001", "100.000002", "100.000003", "100.000004"):
        fake.add_message(CHANNEL, f"at {ts}", ts=ts)

    async def between(**bounds: Any) -> list[str]:
        response = await client.conversations_history(channel=CHANNEL, **bounds)
        return [m["ts"] for m in response["messages"]]

    # Newest first; each end excluded unless ``inclusive``.
    assert await between(oldest="100.000001", latest="100.000004") == ["100.000003", "100.000002"]
    assert await between(oldest="100.000002", latest="100.000003", inclusive=True) == [
        "100.000003",
        "100.000002",
    ]
    assert await between(latest="100.000002") == ["100.000001"]
    fake.leave(CHANNEL)
    assert await error_of(client.conversations_history(channel=CHANNEL)) == "not_in_channel"
    fake.join(CHANNEL)
    assert len(await between()) == 4
