"""Table card buttons: Share to channel, Export CSV, and the Open in Origami link."""

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


def build_handle_share_table(conversations: Conversations) -> Handler:
    async def handle_share_table(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        try:
            ref = ids.parse_table_ref(str(body["actions"][0].get("value", "")))
        except ValueError:
            log.warning("malformed share button value")
            return
        await conversations.tables.share(
            payloads.to_action_thread(body), ref.run_id, ref.table_id, payloads.to_user(body)
        )

    return handle_share_table


def build_handle_export_csv(conversations: Conversations) -> Handler:
    async def handle_export_csv(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        try:
            ref = ids.parse_table_ref(str(body["actions"][0].get("value", "")))
        except ValueError:
            log.warning("malformed export button value")
            return
        await conversations.tables.export_csv(
            payloads.to_action_thread(body), ref.run_id, ref.table_id, payloads.to_user(body)
        )

    return handle_export_csv


async def handle_open_link(ack: AsyncAck) -> None:
    # A link button opens the URL in the browser; Slack still sends the click, which
    # must be acked or the user sees a warning icon.
    await ack()
