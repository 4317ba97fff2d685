from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.conversations import Conversations
from bot.slack.listeners.events.app_mentioned import build_handle_app_mentioned
from bot.slack.listeners.events.message import build_handle_message


def register(app: AsyncApp, conversations: Conversations) -> None:
    app.event("app_mention")(build_handle_app_mentioned(conversations))
    app.event("message")(build_handle_message(conversations))
