from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.conversations import Conversations
from bot.domain import PastedLinks
from bot.slack import payloads


def build_handle_link_shared(conversations: Conversations) -> Callable[..., Awaitable[None]]:
    async def handle_link_shared(body: dict[str, Any]) -> None:
        event = body["event"]
        urls = payloads.to_link_urls(event)
        if not urls:
            return
        pasted = PastedLinks(
            team=payloads.to_team(body),
            channel=str(event.get("channel") or ""),
            message_ts=str(event.get("message_ts") or ""),
            unfurl_id=str(event.get("unfurl_id") or ""),
            source=str(event.get("source") or ""),
        )
        await conversations.links.unfurl(pasted, urls)

    return handle_link_shared
