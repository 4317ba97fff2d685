"""Thin listeners: parse the Slack payload, ack, call the bridge.

Each folder has one ``register(app, bridge)``; the file names follow Slack's names, so the
code for ``app_mention`` is ``events/app_mentioned.py``.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.bridge import Bridge
from bot.slack.listeners import actions, events, views


def register(app: AsyncApp, bridge: Bridge) -> None:
    events.register(app, bridge)
    actions.register(app, bridge)
    views.register(app, bridge)
