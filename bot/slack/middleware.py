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

Next = Callable[[], Awaitable[BoltResponse]]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value[:64] if isinstance(value, str) and value else None


async def bind_log_context(body: dict[str, Any], next: Next) -> BoltResponse | None:
    # Whatever the body holds (a field missing, or of another type), the context is what
    # can be read from it, and the request goes on.
    event = _dict(body.get("event"))
    user = body.get("user")
    logs.bind(
        team=_team(body, event),
        channel=_text(event.get("channel")) or _text(_dict(body.get("channel")).get("id")),
        thread=_text(event.get("thread_ts")) or _text(event.get("ts")),
        user=_text(event.get("user")) or _text(_dict(user).get("id")) or _text(user),
        event=_text(body.get("event_id")),
    )
    return await next()


def _team(body: dict[str, Any], event: dict[str, Any]) -> str | None:
    """The workspace, where ``payloads.to_team`` finds it, of any payload's shape."""
    team = body.get("team_id") or body.get("team")
    if isinstance(team, dict):
        team = team.get("id")
    return _text(team) or _text(event.get("team")) or _text(_dict(body.get("user")).get("team_id"))
