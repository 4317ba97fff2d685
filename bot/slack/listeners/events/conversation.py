"""What a person's message in Slack means: a new conversation, a follow-up, or nothing.

``app_mention`` and ``message`` both lead here, after the ack; the intake's Redis
step claims the message, so it is handled once, whichever of its two events came first and
however often Slack retries them.
"""

from __future__ import annotations

from typing import Any

from bot.conversations import Conversations
from bot.domain import Prompt
from bot.slack import payloads


async def handle_user_message(
    conversations: Conversations, body: dict[str, Any], bot_user_id: str | None, *, mentioned: bool
) -> None:
    event = body["event"]
    if not payloads.is_human_message(event):
        return
    thread = payloads.to_event_thread(body)
    text = str(event.get("text") or "")
    prompt = Prompt(
        text=payloads.to_prompt_text(text, bot_user_id),
        user_id=str(event["user"]),
        cause=f"{event['channel']}:{event['ts']}",
        files=payloads.to_files(event),
    )
    mentioned = mentioned or payloads.mentions(text, bot_user_id)
    may_start = mentioned or payloads.is_direct_message(event)
    if event.get("thread_ts") is None and not may_start:
        return  # a channel message that is not for us
    # In a thread with an agent this is its next run (mentioned or not); elsewhere a
    # mention or a DM starts one. One Redis step decides, atomically, and claims the
    # message, so its other event and Slack's retries do nothing.
    await conversations.intake.take(
        thread, prompt, may_start=may_start, event=payloads.message_identity(event)
    )
