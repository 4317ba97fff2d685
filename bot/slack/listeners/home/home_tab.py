"""``app_home_opened`` on the ``home`` tab: publish the workspace's connection for the
person who opened it (with the buttons that change it, if they may)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import blocks, payloads
from bot.tenancy.connections import Connections

log = logging.getLogger(__name__)

# users.info fields that make someone a workspace admin (owners are admins too).
_ADMIN_FLAGS = ("is_admin", "is_owner", "is_primary_owner")

# A section of the home tab below the connection (schedules, ...): its blocks for one
# person, from (client, team, user id).
HomeSection = Callable[[AsyncWebClient, str, str], Awaitable[list[dict[str, Any]]]]


async def is_home_tab(body: dict[str, Any]) -> bool:
    event = body.get("event")
    return isinstance(event, dict) and event.get("tab") == "home"


async def may_manage(
    client: AsyncWebClient, connections: Connections, team: str, user_id: str
) -> bool:
    """Whether ``user_id`` may set or remove the workspace's key: an admin or owner by
    ``users.info``, or the person who installed the app. Unsure (Slack refused) is no."""
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


async def publish_home(
    client: AsyncWebClient,
    connections: Connections,
    team: str,
    user_id: str,
    sections: Sequence[HomeSection] = (),
) -> None:
    manage = await may_manage(client, connections, team, user_id)
    view = blocks.build_home(await connections.status(team), may_manage=manage)
    for section in sections:
        view["blocks"] += await section(client, team, user_id)
    await client.views_publish(user_id=user_id, view=view)


def build_handle_home_tab_opened(
    connections: Connections, sections: Sequence[HomeSection] = ()
) -> Callable[..., Awaitable[None]]:
    async def handle_home_tab_opened(body: dict[str, Any], client: AsyncWebClient) -> None:
        user_id = str((body.get("event") or {}).get("user") or "")
        await publish_home(client, connections, payloads.to_team(body), user_id, sections)

    return handle_home_tab_opened
