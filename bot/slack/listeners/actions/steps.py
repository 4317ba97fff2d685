"""Show steps, under a finished run's result (the button's value is the run id)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck

from bot.conversations import Conversations
from bot.slack import actions as ids
from bot.slack import payloads

Handler = Callable[..., Awaitable[None]]


def build_handle_show_steps(conversations: Conversations) -> Handler:
    async def handle_show_steps(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        run_id = str(body["actions"][0].get("value", ""))
        if not ids.is_run_id(run_id):
            return
        await conversations.steps.show(
            payloads.to_action_thread(body), run_id, payloads.to_user(body)
        )

    return handle_show_steps
