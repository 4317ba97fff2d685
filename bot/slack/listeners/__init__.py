"""Thin listeners: parse the Slack payload, ack, call a use case (``bot.conversations``).

Each folder has one ``register(app, conversations)``; the file names follow Slack's names, so the
code for ``app_mention`` is ``events/app_mentioned.py``.
"""

from __future__ import annotations

import functools

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversations import Conversations
from bot.slack.listeners import actions, commands, events, home, schedules, views
from bot.slack.listeners.home.home_tab import HomeSection, is_home_tab, publish_home
from bot.slack.listeners.schedules.home import (
    Publish,
    build_handle_home_opened,
    build_publish_sections_only,
    build_schedules_section,
)
from bot.tenancy.connections import Connections
from bot.tenancy.tenants import Tenants


def register(app: AsyncApp, conversations: Conversations, tenants: Tenants | None = None) -> None:
    events.register(app, conversations, tenants.origami if tenants is not None else None)
    actions.register(app, conversations)
    views.register(app, conversations)
    commands.register(app, conversations)
    connections = tenants.connections if tenants is not None else None
    sections: list[HomeSection] = []
    if conversations.schedules is not None:
        sections.append(build_schedules_section(conversations.schedules, connections))
    publish: Publish
    if connections is not None:
        home.register(app, connections, sections)
        publish = functools.partial(_publish_home, connections, sections)
    else:
        # One workspace: no key to connect, so the home tab is its sections alone.
        publish = build_publish_sections_only(sections)
        if sections:
            app.event("app_home_opened", matchers=[is_home_tab])(build_handle_home_opened(publish))
    schedules.register(app, conversations, connections, publish)


async def _publish_home(
    connections: Connections,
    sections: list[HomeSection],
    client: AsyncWebClient,
    team: str,
    user_id: str,
) -> None:
    await publish_home(client, connections, team, user_id, sections)
