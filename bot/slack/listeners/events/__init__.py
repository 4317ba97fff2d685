from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.conversations import Conversations
from bot.slack.listeners.events.agent_session_stopped import build_handle_agent_session_stopped
from bot.slack.listeners.events.app_home_opened import (
    build_handle_app_home_opened,
    is_messages_tab,
)
from bot.slack.listeners.events.app_mentioned import build_handle_app_mentioned
from bot.slack.listeners.events.link_shared import build_handle_link_shared
from bot.slack.listeners.events.message import build_handle_message
from bot.tenancy.origami import OrigamiFor


def register(app: AsyncApp, conversations: Conversations, origami: OrigamiFor | None) -> None:
    """``origami``: the key lookup, where workspaces connect their own (None: one key)."""
    app.event("app_mention")(build_handle_app_mentioned(conversations, origami))
    app.event("message")(build_handle_message(conversations, origami))
    app.event("link_shared")(build_handle_link_shared(conversations))
    # Only the Messages tab's openings: Bolt runs the first listener that matches, so the
    # Home tab's (App Home for installs) can have a listener of its own.
    app.event("app_home_opened", matchers=[is_messages_tab])(
        build_handle_app_home_opened(conversations)
    )
    app.event("agent_session_stopped")(build_handle_agent_session_stopped(conversations))
