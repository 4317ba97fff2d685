from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.bridge import Bridge
from bot.slack import actions as ids
from bot.slack.listeners.views.freeform_answer import build_handle_freeform_answer


def register(app: AsyncApp, bridge: Bridge) -> None:
    app.view(ids.FREEFORM_MODAL)(build_handle_freeform_answer(bridge))
