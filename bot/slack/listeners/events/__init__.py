from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.conversations import Conversations
from bot.slack.listeners.events.app_mentioned import build_handle_app_mentioned
from bot.slack.listeners.events.message import build_handle_message
from bot.tenancy.origami import OrigamiFor


def register(app: AsyncApp, conversations: Conversations, origami: OrigamiFor | None) -> None:
    """``origami``: the key lookup, where workspaces connect their own (None: one key)."""
    app.event("app_mention")(build_handle_app_mentioned(conversations, origami))
    app.event("message")(build_handle_message(conversations, origami))
