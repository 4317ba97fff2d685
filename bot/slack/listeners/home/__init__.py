"""App Home's ``home`` tab and the workspace's settings (both modes); the workspace's
Origami key and the uninstall (many workspaces).

The ``messages`` tab of ``app_home_opened`` is not handled here: each listener matches
its own tab.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack import actions as ids
from bot.slack.listeners.home.app_uninstalled import build_handle_app_uninstalled
from bot.slack.listeners.home.home_tab import HomeTab, build_handle_home_tab_opened, is_home_tab
from bot.slack.listeners.home.origami_key import (
    build_handle_connect_origami,
    build_handle_disconnect_origami,
    build_handle_origami_key,
)
from bot.slack.listeners.home.settings import (
    build_handle_open_settings,
    build_handle_settings_submitted,
)


def register(app: AsyncApp, tab: HomeTab) -> None:
    """With many workspaces (``tab.connections``), the key's buttons and modal, and the
    uninstall, too."""
    app.event("app_home_opened", matchers=[is_home_tab])(build_handle_home_tab_opened(tab))
    app.action(ids.OPEN_SETTINGS)(build_handle_open_settings(tab))
    app.view(ids.SETTINGS_MODAL)(build_handle_settings_submitted(tab))
    connections = tab.connections
    if connections is None:
        return
    app.action(ids.CONNECT_ORIGAMI)(build_handle_connect_origami(tab, connections))
    app.action(ids.DISCONNECT_ORIGAMI)(build_handle_disconnect_origami(tab, connections))
    app.view(ids.ORIGAMI_KEY_MODAL)(build_handle_origami_key(tab, connections))
    uninstalled = build_handle_app_uninstalled(connections)
    app.event("app_uninstalled")(uninstalled)
    app.event("tokens_revoked")(uninstalled)
