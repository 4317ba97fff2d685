from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext

from bot.conversations import Conversations
from bot.slack.listeners.events.conversation import handle_user_message
from bot.tenancy.origami import OrigamiFor


def build_handle_message(
    conversations: Conversations, origami: OrigamiFor | None = None
) -> Callable[..., Awaitable[None]]:
    async def handle_message(body: dict[str, Any], context: AsyncBoltContext) -> None:
        await handle_user_message(
            conversations,
            body,
            context.bot_user_id,
            mentioned=False,
            origami=origami,
            client=context.client,
        )

    return handle_message
