from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.conversations import Conversations
from bot.slack import actions as ids
from bot.slack.listeners.views.freeform_answer import build_handle_freeform_answer


def register(app: AsyncApp, conversations: Conversations) -> None:
    app.view(ids.FREEFORM_MODAL)(build_handle_freeform_answer(conversations))
