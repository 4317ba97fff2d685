"""Rules for every request, kept out of the listeners.

- ``dedupe_events``: Slack retries events it thinks were not acknowledged (up to 3 times,
  ``X-Slack-Retry-Num`` / Socket Mode ``retry_attempt``), and one message that mentions the
  app arrives twice (``app_mention`` and ``message``, with different event ids). Both are
  recognised by what the event is about (``event_identity``), claimed once in Redis; the
  copies are acked and dropped. A person's message is claimed after the ack instead, in
  the same Redis step that decides what it is (``Bridge.on_prompt``): nothing waits for
  Redis before Slack has its answer.
- ``bind_log_context``: every log line below carries team, channel, thread and user.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import RedisError
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot import logs
from bot.problems import problem_from_error
from bot.slack import payloads
from bot.slack.failures import tell_user
from bot.store import Store

log = logging.getLogger(__name__)

Next = Callable[[], Awaitable[BoltResponse]]


MESSAGE = "msg:"


def event_identity(body: dict[str, Any]) -> str | None:
    """What an event is about: a message by channel and ts, anything else by event id."""
    if body.get("type") != "event_callback":
        return None
    event = body.get("event") or {}
    if event.get("type") in ("message", "app_mention") and event.get("channel") and event.get("ts"):
        return f"{MESSAGE}{event['channel']}:{event['ts']}"
    event_id = body.get("event_id")
    return f"id:{event_id}" if event_id else None


def build_dedupe_events(store: Store) -> Callable[..., Awaitable[BoltResponse | None]]:
    async def dedupe_events(
        body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext, next: Next
    ) -> BoltResponse | None:
        identity = event_identity(body)
        if identity is None or identity.startswith(MESSAGE):
            return await next()
        try:
            claimed = await store.claim_event(payloads.to_team(body), identity)
        except (RedisError, OSError) as exc:
            # Keep acking Slack (it would retry into the same outage, then give up) and
            # tell the person their message could not be taken, if it was for us.
            log.error("redis unavailable; event not handled", extra={"error": repr(exc)})
            await tell_user(client, body, problem_from_error(exc), context.bot_user_id)
            return BoltResponse(status=200, body="")
        if not claimed:
            log.info("duplicate event dropped", extra={"identity": identity})
            return BoltResponse(status=200, body="")
        return await next()

    return dedupe_events


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
