"""The feedback buttons under a result (``feedback_buttons``: the clicked button's value
names the run and the verdict)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck

from bot.conversations import Conversations
from bot.slack import actions as ids
from bot.slack import payloads

log = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[None]]


def build_handle_feedback(conversations: Conversations) -> Handler:
    async def handle_feedback(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        try:
            ref = ids.parse_feedback(str(body["actions"][0].get("value", "")))
        except ValueError:
            log.warning("malformed feedback button value")
            return
        await conversations.feedback.give(
            payloads.to_action_thread(body), ref.run_id, payloads.to_user(body), ref.verdict
        )

    return handle_feedback
