from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.conversations import Conversations
from bot.slack import payloads
from bot.slack.agent_events import to_messages_tab_opened


async def is_messages_tab(body: dict[str, Any]) -> bool:
    event = body.get("event")
    return isinstance(event, dict) and event.get("tab") == "messages"


def build_handle_app_home_opened(conversations: Conversations) -> Callable[..., Awaitable[None]]:
    async def handle_app_home_opened(body: dict[str, Any]) -> None:
        opened = to_messages_tab_opened(body.get("event"))
        if opened is None:
            return
        await conversations.agent_dm.opened(payloads.to_team(body), opened.user, opened.channel)

    return handle_app_home_opened
