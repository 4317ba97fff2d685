from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext

from bot.bridge import Bridge
from bot.slack.listeners.events.conversation import handle_user_message


def build_handle_app_mentioned(bridge: Bridge) -> Callable[..., Awaitable[None]]:
    async def handle_app_mentioned(body: dict[str, Any], context: AsyncBoltContext) -> None:
        await handle_user_message(bridge, body, context.bot_user_id, mentioned=True)

    return handle_app_mentioned
