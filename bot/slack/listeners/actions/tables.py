"""Table card buttons: Share to channel, Export CSV, and the Open in Origami link."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck

from bot.conversations import Conversations
from bot.conversations.tables import Tables
from bot.domain import ThreadRef
from bot.slack import actions as ids
from bot.slack import payloads

log = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[None]]


TableAction = Callable[[Tables, ThreadRef, str, str, str], Awaitable[None]]


def _build_table_button(conversations: Conversations, act: TableAction, what: str) -> Handler:
    """A table card's button: its value names the run and the table."""

    async def handle(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        try:
            ref = ids.parse_table_ref(str(body["actions"][0].get("value", "")))
        except ValueError:
            log.warning("malformed table button value", extra={"button": what})
            return
        await act(
            conversations.tables,
            payloads.to_action_thread(body),
            ref.run_id,
            ref.table_id,
            payloads.to_user(body),
        )

    return handle


def build_handle_share_table(conversations: Conversations) -> Handler:
    return _build_table_button(conversations, Tables.share, "share")


def build_handle_export_csv(conversations: Conversations) -> Handler:
    return _build_table_button(conversations, Tables.export_csv, "export")


async def handle_open_link(ack: AsyncAck) -> None:
    # A link button opens the URL in the browser; Slack still sends the click, which
    # must be acked or the user sees a warning icon.
    await ack()
