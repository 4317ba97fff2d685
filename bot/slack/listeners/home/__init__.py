"""App Home's ``home`` tab and the workspace's Origami key; the uninstall (many workspaces).

The ``messages`` tab of ``app_home_opened`` is not handled here: each listener matches
its own tab.
"""

from __future__ import annotations

from collections.abc import Sequence

from slack_bolt.async_app import AsyncApp

from bot.slack import actions as ids
from bot.slack.listeners.home.app_uninstalled import build_handle_app_uninstalled
from bot.slack.listeners.home.home_tab import (
    HomeSection,
    build_handle_home_tab_opened,
    is_home_tab,
)
from bot.slack.listeners.home.origami_key import (
    build_handle_connect_origami,
    build_handle_disconnect_origami,
    build_handle_origami_key,
)
from bot.tenancy.connections import Connections


def register(app: AsyncApp, connections: Connections, sections: Sequence[HomeSection] = ()) -> None:
    """``sections``: what the home tab shows below the connection (schedules)."""
    opened = build_handle_home_tab_opened(connections, sections)
    app.event("app_home_opened", matchers=[is_home_tab])(opened)
    app.action(ids.CONNECT_ORIGAMI)(build_handle_connect_origami(connections))
    app.action(ids.DISCONNECT_ORIGAMI)(build_handle_disconnect_origami(connections, sections))
    app.view(ids.ORIGAMI_KEY_MODAL)(build_handle_origami_key(connections, sections))
    uninstalled = build_handle_app_uninstalled(connections)
    app.event("app_uninstalled")(uninstalled)
    app.event("tokens_revoked")(uninstalled)
