"""A workspace's user groups, from Slack (``usergroups.list``, ``usergroups.users.list``,
scope ``usergroups:read``): the choices of App Home's "who may start agents", and who is
in the chosen ones (``bot.conversations.gate`` keeps each answer a while)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.messages import slack_error
from bot.tenancy.slack import SlackFor, WorkspaceGone

log = logging.getLogger(__name__)

_GROUP_RE = re.compile(r"S[A-Z0-9]{1,32}")
_USER_RE = re.compile(r"[UW][A-Z0-9]{1,32}")
# A modal's select holds 100 options; a group's members are bounded so one answer cannot
# fill a process's memory.
GROUPS_LISTED_MAX = 100
MEMBERS_MAX = 100_000
_NAME_MAX = 75


@dataclass(frozen=True, slots=True)
class UserGroup:
    id: str
    name: str
    handle: str


def to_groups(answer: Any) -> list[UserGroup]:
    """The live groups of a ``usergroups.list`` answer, checked field by field."""
    items = answer.get("usergroups") if isinstance(answer, dict) else None
    groups = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict) or not _GROUP_RE.fullmatch(str(item.get("id") or "")):
            continue
        if item.get("date_delete") not in (None, 0):
            continue  # disabled
        name, handle = item.get("name"), item.get("handle")
        groups.append(
            UserGroup(
                id=str(item["id"]),
                name=(name if isinstance(name, str) else "")[:_NAME_MAX],
                handle=(handle if isinstance(handle, str) else "")[:_NAME_MAX],
            )
        )
        if len(groups) >= GROUPS_LISTED_MAX:
            break
    return groups


def to_members(answer: Any) -> frozenset[str] | None:
    users = answer.get("users") if isinstance(answer, dict) else None
    if not isinstance(users, list):
        return None
    return frozenset(u for u in users[:MEMBERS_MAX] if isinstance(u, str) and _USER_RE.fullmatch(u))


async def list_groups(client: AsyncWebClient) -> list[UserGroup] | None:
    """The workspace's live groups; None when Slack refused (no scope, a failure)."""
    try:
        answer = await client.usergroups_list()
    except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
        log.warning("usergroups.list failed", extra={"error": _error(exc)})
        return None
    return to_groups(answer.data)


class SlackUserGroups:
    """``bot.ports.GroupMembers`` on Slack, with each workspace's own token."""

    def __init__(self, slack: SlackFor) -> None:
        self.slack = slack

    async def members(self, team: str, group_id: str) -> frozenset[str] | None:
        try:
            client = await self.slack.for_team(team)
            answer = await client.usergroups_users_list(usergroup=group_id)
        except (SlackApiError, WorkspaceGone, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("usergroups.users.list failed", extra={"error": _error(exc)})
            return None
        return to_members(answer.data)


def _error(exc: BaseException) -> str:
    return slack_error(exc) if isinstance(exc, SlackApiError) else type(exc).__name__
