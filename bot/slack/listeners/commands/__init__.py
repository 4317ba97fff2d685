from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.conversations import Conversations
from bot.slack.commands import COMMAND
from bot.slack.listeners.commands.origami import build_handle_origami_command


def register(app: AsyncApp, conversations: Conversations) -> None:
    app.command(COMMAND)(build_handle_origami_command(conversations))
