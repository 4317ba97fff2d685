"""When handling a Slack request fails: tell the person, in plain words, what was not done.

Used as Bolt's error handler: anything that escapes a listener after the ack, Redis down
included. A click gets a private note; a message addressed to the app gets a reply in its
thread. Nobody sees a stack trace; the log gets it, with context.

The handler never raises, whatever the body: it logs the failure once, and tells the
person only when the body says who and where (a body without them is told nothing).
A request no listener takes also comes here (Bolt's ``BoltUnhandledRequestError``): it is
no failure, and is acked with 200 so that Slack does not send it again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt.error import BoltUnhandledRequestError
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.problems import Problem, problem_from_error
from bot.slack import blocks, payloads

log = logging.getLogger(__name__)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _kind(body: dict[str, Any]) -> str:
    """The payload's type, short, for a log line (never the body itself)."""
    kind = _text(body.get("type"))
    return kind[:64] if kind else "?"


def is_addressed_to_app(body: dict[str, Any], bot_user_id: str | None) -> bool:
    """A mention or a DM: a person is waiting for this app's answer.

    A channel message that mentions the app arrives twice, as ``app_mention`` and as
    ``message``: only the first speaks, so a failure is told once."""
    event = _dict(body.get("event"))
    if not payloads.is_human_message(event):
        return False
    return event.get("type") == "app_mention" or payloads.is_direct_message(event)


@dataclass(frozen=True)
class _Where:
    """Where to tell a person: the channel and thread, and for a private note, who."""

    channel: str
    thread_ts: str
    user: str | None = None


def _where(body: dict[str, Any], bot_user_id: str | None) -> _Where | None:
    """Who is waiting and where, from whatever the body holds; ``None``: nobody to tell."""
    kind = body.get("type")
    if kind == "block_actions":
        # The thread a clicked message lives in (a top-level card is its own thread).
        container, message = _dict(body.get("container")), _dict(body.get("message"))
        channel = _text(_dict(body.get("channel")).get("id")) or _text(container.get("channel_id"))
        thread_ts = (
            _text(message.get("thread_ts"))
            or _text(container.get("thread_ts"))
            or _text(message.get("ts"))
            or _text(container.get("message_ts"))
        )
        user = _text(_dict(body.get("user")).get("id"))
        if channel and thread_ts and user:
            return _Where(channel, thread_ts, user)
        return None
    if kind == "event_callback" and is_addressed_to_app(body, bot_user_id):
        event = _dict(body.get("event"))
        channel = _text(event.get("channel"))
        thread_ts = _text(event.get("thread_ts")) or _text(event.get("ts"))
        if channel and thread_ts:
            return _Where(channel, thread_ts)
    # A modal's submission has no thread to answer in; anything else has nobody waiting.
    return None


async def tell_user(
    client: AsyncWebClient, body: dict[str, Any], problem: Problem, bot_user_id: str | None
) -> None:
    where = _where(body, bot_user_id)
    if where is None:
        return
    message = blocks.build_problem(problem)
    try:
        if where.user is not None:
            await client.chat_postEphemeral(
                channel=where.channel,
                user=where.user,
                thread_ts=where.thread_ts,
                text=message.text,
                blocks=message.blocks,
            )
        else:
            await client.chat_postMessage(
                channel=where.channel,
                thread_ts=where.thread_ts,
                text=message.text,
                blocks=message.blocks,
            )
    except Exception as exc:  # Slack's refusal, or Slack out of reach: the log has it
        log.warning(
            "could not tell the user about a failure",
            extra={"kind": _kind(body), "error": repr(exc)[:300]},
        )


def build_handle_errors(client: AsyncWebClient) -> Any:
    async def handle_errors(error: Exception, body: Any, context: Any) -> BoltResponse | None:
        body = _dict(body)
        if isinstance(error, BoltUnhandledRequestError):
            log.info(
                "no listener for this request; acked",
                extra={"kind": _kind(body), "event_type": _kind(_dict(body.get("event")))},
            )
            return BoltResponse(status=200, body="")
        problem = problem_from_error(error)
        log.error(
            "request failed after the ack",
            exc_info=error,
            extra={"problem": problem.kind.value, "kind": _kind(body)},
        )
        bot_user_id = getattr(context, "bot_user_id", None)
        # The request's own client carries its workspace's token (many workspaces).
        own = getattr(context, "client", None)
        await tell_user(
            own if isinstance(own, AsyncWebClient) else client,
            body,
            problem,
            bot_user_id if isinstance(bot_user_id, str) else None,
        )
        return None

    return handle_errors
