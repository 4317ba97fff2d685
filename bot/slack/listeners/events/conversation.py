"""What a person's message in Slack means: a new conversation, a follow-up, or nothing.

``app_mention`` and ``message`` both lead here, after the ack; the intake's Redis
step claims the message, so it is handled once, whichever of its two events came first and
however often Slack retries them.
"""

from __future__ import annotations

import re
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.conversations import Conversations
from bot.domain import Prompt, ThreadRef
from bot.slack import home_texts, payloads
from bot.slack.blocks.common import note_message
from bot.tenancy.origami import OrigamiFor, is_connected

_APP_ID_RE = re.compile(r"A[A-Z0-9]{1,32}")


async def handle_user_message(
    conversations: Conversations,
    body: dict[str, Any],
    bot_user_id: str | None,
    *,
    mentioned: bool,
    origami: OrigamiFor | None = None,
    client: AsyncWebClient | None = None,
) -> None:
    """``origami`` and ``client`` (many workspaces): a mention in a workspace with no
    Origami key is answered with where to connect one, and nothing is kept or sent."""
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
    if (
        may_start
        and origami is not None
        and client is not None
        and not await is_connected(origami, thread.team)
    ):
        await _not_connected(conversations, client, body, thread)
        return
    # In a thread with an agent this is its next run (mentioned or not); elsewhere a
    # mention or a DM starts one. One Redis step decides, atomically, and claims the
    # message, so its other event and Slack's retries do nothing.
    await conversations.intake.take(
        thread, prompt, may_start=may_start, event=payloads.message_identity(event)
    )


async def _not_connected(
    conversations: Conversations, client: AsyncWebClient, body: dict[str, Any], thread: ThreadRef
) -> None:
    # Once per message: its twin event and Slack's retries say nothing more.
    event = body["event"]
    identity = payloads.message_identity(event)
    if not await conversations.intake.stores.claims.claim_action(thread.team, identity):
        return
    app_id = body.get("api_app_id")
    team_id = event.get("team") or body.get("team_id")
    message = note_message(
        home_texts.not_connected_notice(
            team_id if payloads.is_team_id(team_id) else None,
            app_id if isinstance(app_id, str) and _APP_ID_RE.fullmatch(app_id) else None,
        ),
        "not_connected",
    )
    await client.chat_postMessage(
        channel=thread.channel, thread_ts=thread.thread_ts, text=message.text, blocks=message.blocks
    )
