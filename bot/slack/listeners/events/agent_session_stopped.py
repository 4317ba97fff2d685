from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.conversations import Conversations
from bot.domain import ThreadRef
from bot.slack import payloads
from bot.slack.agent_events import to_session_stopped


def build_handle_agent_session_stopped(
    conversations: Conversations,
) -> Callable[..., Awaitable[None]]:
    async def handle_agent_session_stopped(body: dict[str, Any]) -> None:
        stopped = to_session_stopped(body.get("event"))
        if stopped is None:
            return
        thread = ThreadRef(payloads.to_team(body), stopped.channel, stopped.thread_ts)
        await conversations.sessions.stopped(thread, stopped.user)

    return handle_agent_session_stopped
