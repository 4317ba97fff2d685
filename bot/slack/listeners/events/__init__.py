from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.bridge import Bridge
from bot.slack.listeners.events.app_mentioned import build_handle_app_mentioned
from bot.slack.listeners.events.message import build_handle_message


def register(app: AsyncApp, bridge: Bridge) -> None:
    app.event("app_mention")(build_handle_app_mentioned(bridge))
    app.event("message")(build_handle_message(bridge))
