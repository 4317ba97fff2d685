"""``app_home_opened`` on the ``home`` tab: publish the person's Home (both modes): the
workspace's connection and account, their recent conversations, its settings, the
sections other features add (schedules), and, for those who may change them, the buttons
that do."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversations.home import Home
from bot.slack import blocks, payloads
from bot.slack.blocks.common import Block
from bot.slack.blocks.home_connection import build_account_section, build_connection_section
from bot.slack.blocks.home_recent import build_recent_section
from bot.slack.blocks.home_settings import build_settings_section
from bot.stores import StoreError
from bot.summaries import RecentConversation
from bot.tenancy.connections import Connections
from bot.tenancy.origami_keys import Connection

log = logging.getLogger(__name__)

# users.info fields that make someone a workspace admin (owners are admins too).
_ADMIN_FLAGS = ("is_admin", "is_owner", "is_primary_owner")
# A workspace's URL (auth.test) changes only when it is renamed: an hour per process.
_URL_KEPT_S = 3600.0
_TEAMS_KEPT = 10_000

# A section of the home tab below this module's own (schedules, ...): its blocks for one
# person, from (client, team, user id, whether they may manage the workspace: asked once
# for the whole tab).
HomeSection = Callable[[AsyncWebClient, str, str, bool], Awaitable[list[dict[str, Any]]]]


async def is_home_tab(body: dict[str, Any]) -> bool:
    event = body.get("event")
    return isinstance(event, dict) and event.get("tab") == "home"


async def may_manage(
    client: AsyncWebClient, connections: Connections, team: str, user_id: str
) -> bool:
    """Whether ``user_id`` may change the workspace's key and settings: an admin or owner
    by ``users.info``, or the person who installed the app. Unsure (Slack refused) is no."""
    if not payloads.is_user_id(user_id):
        return False
    if await connections.is_installer(team, user_id):
        return True
    return await is_workspace_admin(client, user_id)


async def is_workspace_admin(client: AsyncWebClient, user_id: str) -> bool:
    """An admin or owner by ``users.info``. Unsure (Slack refused) is no."""
    if not payloads.is_user_id(user_id):
        return False
    try:
        response = await client.users_info(user=user_id)
    except SlackApiError as exc:
        log.warning("users.info failed; treated as not an admin", extra={"error": str(exc)})
        return False
    user = response.get("user")
    return isinstance(user, dict) and any(user.get(flag) is True for flag in _ADMIN_FLAGS)


class HomeTab:
    """Builds and publishes a person's Home. ``connections``: many workspaces (the key's
    section and its buttons); None with one workspace. ``sections``: those other features
    add below this module's own, in order."""

    def __init__(
        self,
        home: Home,
        connections: Connections | None,
        sections: Sequence[HomeSection] = (),
    ) -> None:
        self.home = home
        self.connections = connections
        self.sections = list(sections)
        self._urls: dict[str, tuple[float, str]] = {}

    async def may_manage(self, client: AsyncWebClient, team: str, user_id: str) -> bool:
        """An admin or owner, or (many workspaces) whoever installed the app."""
        if self.connections is not None:
            return await may_manage(client, self.connections, team, user_id)
        return await is_workspace_admin(client, user_id)

    async def publish(
        self, client: AsyncWebClient, team: str, user_id: str, manage: bool | None = None
    ) -> None:
        """``manage``: whether the person may manage the workspace, when the caller has
        just checked (None: asked here)."""
        if not payloads.is_user_id(user_id):
            return

        async def managed_and_below() -> tuple[bool, list[list[Block]]]:
            may = manage if manage is not None else await self.may_manage(client, team, user_id)
            below = await asyncio.gather(
                *(part(client, team, user_id, may) for part in self.sections)
            )
            return may, list(below)

        # Independent reads (Origami's account may take seconds): together, not in turn.
        reads = asyncio.gather(
            self.home.account(team),
            self._connection(team),
            self.home.settings(team),
            self._recent(team, user_id),
            self._url(client, team),
        )
        (account, connection, settings, recent, url), (manage, extra) = await asyncio.gather(
            reads, managed_and_below()
        )
        if self.connections is not None:
            top = build_connection_section(connection, account, may_manage=manage)
        else:
            top = build_account_section(account)
        # One section a builder module; a new section is one more line here.
        sections: list[list[Block]] = [
            top,
            build_recent_section(recent, url),
            build_settings_section(settings, may_manage=manage),
            *extra,
        ]
        await client.views_publish(user_id=user_id, view=blocks.build_home(sections))

    async def _connection(self, team: str) -> Connection | None:
        return await self.connections.status(team) if self.connections is not None else None

    async def _recent(self, team: str, user_id: str) -> list[RecentConversation] | None:
        try:
            return await self.home.recent(team, user_id)
        except StoreError:
            log.warning("the recent conversations could not be read")
            return None

    async def _url(self, client: AsyncWebClient, team: str) -> str:
        """The workspace's URL, the root of its permalinks; "" (links left out) when
        Slack does not say."""
        kept = self._urls.get(team)
        if kept is not None and kept[0] > time.monotonic():
            return kept[1]
        try:
            url = str((await client.auth_test()).get("url") or "")
        except SlackApiError as exc:
            log.warning("auth.test failed; no thread links", extra={"error": str(exc)})
            return ""
        if len(self._urls) >= _TEAMS_KEPT:
            self._urls.clear()
        self._urls[team] = (time.monotonic() + _URL_KEPT_S, url)
        return url


def build_handle_home_tab_opened(tab: HomeTab) -> Callable[..., Awaitable[None]]:
    async def handle_home_tab_opened(body: dict[str, Any], client: AsyncWebClient) -> None:
        user_id = str((body.get("event") or {}).get("user") or "")
        await tab.publish(client, payloads.to_team(body), user_id)

    return handle_home_tab_opened
