"""Bolt's error handler is total: whatever the body, it logs the failure once, tells the
person at most once, and never raises; a request no listener takes is acked with 200."""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError

from bot.slack.failures import build_handle_errors
from bot.stores import StoreError
from tests.fakes import payloads

CONTEXT = SimpleNamespace(bot_user_id=payloads.BOT_USER_ID)


class RecordingClient:
    """The two Web API methods the handler calls, recorded; ``fail`` makes them raise."""

    def __init__(self, fail: BaseException | None = None) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.fail = fail

    async def _call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        self.posts.append((method, kwargs))
        if self.fail is not None:
            raise self.fail
        return {"ok": True}

    async def chat_postMessage(self, **kwargs: Any) -> dict[str, Any]:
        return await self._call("chat.postMessage", **kwargs)

    async def chat_postEphemeral(self, **kwargs: Any) -> dict[str, Any]:
        return await self._call("chat.postEphemeral", **kwargs)


def _mention() -> dict[str, Any]:
    return payloads.events_api(payloads.app_mention("find founders"))


def _dm_in_thread() -> dict[str, Any]:
    return payloads.events_api(payloads.im_message("and in Berlin?", thread_ts="1700000000.1"))


def _click() -> dict[str, Any]:
    return payloads.block_actions(
        payloads.button_action("stop_run", value="x"), thread_ts="1700000000.000100"
    )


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every field in ``node``, nested ones included."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*prefix, i))


def _without(body: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    out = copy.deepcopy(body)
    node: Any = out
    for key in path[:-1]:
        node = node[key]
    if isinstance(node, dict):
        del node[path[-1]]
    else:
        node.pop(path[-1])
    return out


def _replaced(body: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(body)
    node: Any = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


def _channels(body: dict[str, Any]) -> set[str]:
    found = set()
    for path in _paths(body):
        if path[-1] in ("channel", "channel_id", "id"):
            node: Any = body
            for key in path:
                node = node[key]
            if isinstance(node, str):
                found.add(node)
    return found


def _bodies() -> Iterator[tuple[str, dict[str, Any]]]:
    for name, full in (("mention", _mention()), ("dm", _dm_in_thread()), ("click", _click())):
        yield f"{name} in full", full
        for path in _paths(full):
            yield f"{name} without {'.'.join(map(str, path))}", _without(full, path)
        for path in _paths(full):
            for odd in (None, "", 7, "text", [], {}):
                yield f"{name} with {'.'.join(map(str, path))}={odd!r}", _replaced(full, path, odd)
    yield "an empty body", {}


BODIES = dict(_bodies())


@pytest.fixture
def failures_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="bot.slack.failures")
    return caplog


async def test_every_body_is_logged_once_and_told_at_most_once(
    failures_log: pytest.LogCaptureFixture,
) -> None:
    error = StoreError("Redis is down")
    for name, body in BODIES.items():
        client = RecordingClient()
        failures_log.clear()
        handle = build_handle_errors(client)  # type: ignore[arg-type]
        await handle(error=error, body=body, context=CONTEXT)  # never raises
        records = [r for r in failures_log.records if r.name == "bot.slack.failures"]
        assert len(records) == 1, (name, [r.getMessage() for r in records])
        assert records[0].levelno == logging.ERROR
        assert len(client.posts) <= 1, name
        for _, args in client.posts:
            # Told where the body says, never in a channel made up of a missing field.
            assert args["channel"] in _channels(body), (name, args)
            assert args["thread_ts"] not in ("", "None"), (name, args)


async def test_a_full_body_tells_the_person(failures_log: pytest.LogCaptureFixture) -> None:
    for body, method in (
        (_mention(), "chat.postMessage"),
        (_dm_in_thread(), "chat.postMessage"),
        (_click(), "chat.postEphemeral"),
    ):
        client = RecordingClient()
        await build_handle_errors(client)(error=StoreError("down"), body=body, context=CONTEXT)
        assert [m for m, _ in client.posts] == [method]


@pytest.mark.parametrize(
    "failure",
    [
        SlackApiError("channel_not_found", {"ok": False, "error": "channel_not_found"}),
        aiohttp.ClientConnectionError("Slack out of reach"),
        OSError("connection reset"),
        TimeoutError(),
    ],
)
async def test_a_post_that_fails_is_logged_not_raised(
    failures_log: pytest.LogCaptureFixture, failure: BaseException
) -> None:
    client = RecordingClient(fail=failure)
    await build_handle_errors(client)(error=StoreError("down"), body=_mention(), context=CONTEXT)
    levels = [r.levelno for r in failures_log.records if r.name == "bot.slack.failures"]
    assert levels == [logging.ERROR, logging.WARNING]


async def test_no_context_or_no_body_still_logs_once(
    failures_log: pytest.LogCaptureFixture,
) -> None:
    handle = build_handle_errors(RecordingClient())
    await handle(error=RuntimeError("boom"), body=None, context=None)
    await handle(error=RuntimeError("boom"), body=_mention(), context=None)
    records = [r for r in failures_log.records if r.name == "bot.slack.failures"]
    assert len(records) == 2


async def test_a_request_no_listener_takes_is_acked_with_200_and_no_failure(
    failures_log: pytest.LogCaptureFixture,
) -> None:
    body = payloads.to_event_body(payloads.events_api({"type": "reaction_added"})).decode()
    request = AsyncBoltRequest(body=body, headers={"content-type": ["application/json"]})
    response = BoltResponse(status=404, body="")
    error = BoltUnhandledRequestError(request=request, current_response=response)
    client = RecordingClient()
    answer = await build_handle_errors(client)(error=error, body=request.body, context=CONTEXT)
    assert isinstance(answer, BoltResponse) and answer.status == 200
    assert client.posts == []
    assert [r.levelno for r in failures_log.records] == [logging.INFO]
