"""Thin listeners: parse the Slack payload, ack, call a use case (``bot.conversations``).

Each folder has one ``register(app, conversations)``; the file names follow Slack's names, so the
code for ``app_mention`` is ``events/app_mentioned.py``.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.conversations import Conversations
from bot.slack.listeners import actions, commands, events, home, schedules, views
from bot.slack.listeners.home.home_tab import HomeSection, HomeTab
from bot.slack.listeners.schedules.home import build_schedules_section
from bot.tenancy.tenants import Tenants


def register(app: AsyncApp, conversations: Conversations, tenants: Tenants | None = None) -> None:
    events.register(app, conversations, tenants.origami if tenants is not None else None)
    actions.register(app, conversations)
    views.register(app, conversations)
    commands.register(app, conversations)
    connections = tenants.connections if tenants is not None else None
    # App Home's sections beyond its own (connection, recent conversations, settings).
    sections: list[HomeSection] = []
    if conversations.schedules is not None:
        sections.append(build_schedules_section(conversations.schedules))
    tab = HomeTab(conversations.home, connections, sections)
    home.register(app, tab)
    schedules.register(app, conversations, tab)
