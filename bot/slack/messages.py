"""Messages in a Slack thread, as the presenter makes them: post, update (or post anew when
the message is gone), post privately, read one back, and close its buttons.

Every Web API call goes through the client built in ``bot.slack.app``, which retries Slack
429s and 5xx; what fails even so is logged here and raised to the caller."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain import ThreadRef
from bot.slack import blocks
from bot.slack.blocks import Message
from bot.tenancy.slack import OneWorkspace, SlackFor

log = logging.getLogger(__name__)


class SlackMessages:
    def __init__(self, clients: AsyncWebClient | SlackFor) -> None:
        # One client (one workspace), or the lookup of each workspace's.
        self.clients: SlackFor = (
            OneWorkspace(clients) if isinstance(clients, AsyncWebClient) else clients
        )

    async def client(self, thread: ThreadRef) -> AsyncWebClient:
        """The client of the thread's workspace (raises ``WorkspaceGone`` once it is
        uninstalled: nothing more is posted there)."""
        return await self.clients.for_team(thread.team)

    async def post(self, thread: ThreadRef, message: Message, **extra: Any) -> str:
        response = await (await self.client(thread)).chat_postMessage(
            channel=thread.channel,
            thread_ts=thread.thread_ts,
            text=message.text,
            blocks=message.blocks,
            unfurl_links=False,
            unfurl_media=False,
            **extra,
        )
        return str(response["ts"])

    async def update(self, thread: ThreadRef, ts: str, message: Message) -> None:
        await (await self.client(thread)).chat_update(
            channel=thread.channel, ts=ts, text=message.text, blocks=message.blocks
        )

    async def post_or_update(self, thread: ThreadRef, ts: str | None, message: Message) -> str:
        if ts:
            try:
                await self.update(thread, ts, message)
                return ts
            except SlackApiError as exc:
                # The message may be gone (deleted by someone): say it anew instead.
                log.warning("update failed; posting instead", extra={"error": slack_error(exc)})
        return await self.post(thread, message)

    async def ephemeral(self, thread: ThreadRef, user_id: str, message: Message) -> None:
        await (await self.client(thread)).chat_postEphemeral(
            channel=thread.channel,
            user=user_id,
            thread_ts=thread.thread_ts,
            text=message.text,
            blocks=message.blocks,
        )

    async def close_buttons(
        self, thread: ThreadRef, message_ts: str, note: str, *, only_if_open: bool = False
    ) -> None:
        """Remove the message's ``actions`` blocks and add ``note``; with ``only_if_open``,
        leave a message that has none as it is."""
        try:
            found = await self.find_message(thread, message_ts)
        except SlackApiError as exc:
            # Closing buttons is a courtesy: a message that cannot be read is left as it is.
            log.warning("could not read message", extra={"error": slack_error(exc)})
            return
        if found is None:
            return
        kept = [b for b in found.get("blocks", []) if not _is_closing(b)]
        if only_if_open and len(kept) == len(found.get("blocks", [])):
            return
        message = blocks.with_context_note(kept, note, fallback=str(found.get("text", "")))
        try:
            await self.update(thread, message_ts, message)
        except SlackApiError as exc:
            log.warning("could not close buttons", extra={"error": slack_error(exc)})

    async def find_message(self, thread: ThreadRef, ts: str) -> dict[str, Any] | None:
        """The message ``ts`` of ``thread``; None only when Slack says it is not there (the
        thread or the message deleted). Any other failure (rate limited, Slack down) raises
        ``SlackApiError``: a message that could not be read is not a deleted one."""
        try:
            # The thread's parent always comes first, whatever the window: ask for two.
            response = await (await self.client(thread)).conversations_replies(
                channel=thread.channel,
                ts=thread.thread_ts,
                oldest=ts,
                latest=ts,
                inclusive=True,
                limit=2,
            )
        except SlackApiError as exc:
            if exc.response.get("error") in _GONE:
                return None
            raise
        messages: list[dict[str, Any]] = response.get("messages") or []
        for message in messages:
            if message.get("ts") == ts:
                return dict(message)
        return None


# What conversations.replies answers when the thread's parent is gone: nothing to read.
_GONE = frozenset({"thread_not_found"})

# Buttons that stay when a message's one-shot buttons close: Show steps still applies.
_KEPT_ACTIONS = frozenset({"steps_actions"})
# The "Suggested next steps" title (and listing) goes with its buttons: left alone it
# would head nothing.
_NEXT_STEPS_PREFIX = "next:"


def _is_closing(block: dict[str, Any]) -> bool:
    block_id = str(block.get("block_id") or "")
    if block.get("type") == "section" and block_id.startswith(_NEXT_STEPS_PREFIX):
        return True
    return block.get("type") == "actions" and block_id not in _KEPT_ACTIONS


def slack_error(exc: SlackApiError) -> str:
    try:
        return str(exc.response["error"])
    except (KeyError, TypeError):
        return type(exc).__name__
