"""Rules for every request, kept out of the listeners.

- ``bind_log_context``: every log line below carries team, channel, thread and user.

Slack's retries of an event (``X-Slack-Retry-Num`` / Socket Mode ``retry_attempt``) and the
second event of a message that mentions the app (``app_mention`` and ``message``) are not
dropped here: the app only subscribes to message events, and the intake's Redis step
claims each message (``payloads.message_identity``), after the ack.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.response import BoltResponse

from bot import logs
from bot.slack import payloads

Next = Callable[[], Awaitable[BoltResponse]]


async def bind_log_context(body: dict[str, Any], next: Next) -> BoltResponse | None:
    event = body.get("event") or {}
    channel = event.get("channel") or (body.get("channel") or {}).get("id")
    thread = event.get("thread_ts") or event.get("ts")
    logs.bind(
        team=payloads.to_team(body),
        channel=channel,
        thread=thread,
        user=event.get("user") or payloads.to_user(body) or None,
        event=body.get("event_id"),
    )
    return await next()
