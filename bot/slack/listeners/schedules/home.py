"""App Home's schedules: the section (the workspace's schedules, with Pause / Resume /
Delete for those who may), and the buttons. Who may change a schedule is checked again on
every click (``Schedules.change``): a stale tab or a forged payload changes nothing."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.schedules.manage import Changed, Schedules
from bot.schedules.records import Change
from bot.slack import payloads
from bot.slack import schedule_actions as ids
from bot.slack import schedule_texts as texts
from bot.slack.blocks.common import plain_text, section_block
from bot.slack.blocks.schedules import build_schedules_home
from bot.slack.listeners.home.home_tab import HomeSection, is_workspace_admin, may_manage
from bot.slack.messages import slack_error
from bot.tenancy.connections import Connections

log = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[None]]
# Republish one person's home tab: (client, team, user id).
Publish = Callable[[AsyncWebClient, str, str], Awaitable[None]]

CHANGES = {
    ids.PAUSE_SCHEDULE: Change.PAUSE,
    ids.RESUME_SCHEDULE: Change.RESUME,
    ids.DELETE_SCHEDULE: Change.DELETE,
}
_REFUSED = {
    Changed.NOT_ALLOWED: texts.NOT_ALLOWED,
    Changed.GONE: texts.GONE,
    Changed.FAILED: texts.CHANGE_FAILED,
}


async def may_change_all(
    client: AsyncWebClient, connections: Connections | None, team: str, user_id: str
) -> bool:
    """A workspace admin or owner (or, with many workspaces, whoever installed the app)
    may change any of the workspace's schedules, as they may change its key."""
    if connections is not None:
        return await may_manage(client, connections, team, user_id)
    return await is_workspace_admin(client, user_id)


def build_schedules_section(schedules: Schedules, connections: Connections | None) -> HomeSection:
    async def schedules_section(
        client: AsyncWebClient, team: str, user_id: str
    ) -> list[dict[str, Any]]:
        try:
            views = await schedules.listing(team)
        except Exception as exc:
            log.warning(
                "could not read the schedules for App Home", extra={"error": type(exc).__name__}
            )
            return build_schedules_home(None, may_change=frozenset())
        admin = bool(views) and await may_change_all(client, connections, team, user_id)
        may = frozenset(v.record.schedule_id for v in views if admin or v.record.creator == user_id)
        return build_schedules_home(views, may_change=may)

    return schedules_section


def build_publish_sections_only(sections: Sequence[HomeSection]) -> Publish:
    """One workspace: the home tab holds the sections alone (no key to connect)."""

    async def publish(client: AsyncWebClient, team: str, user_id: str) -> None:
        blocks: list[dict[str, Any]] = []
        for section in sections:
            blocks += await section(client, team, user_id)
        await client.views_publish(user_id=user_id, view={"type": "home", "blocks": blocks})

    return publish


def build_handle_home_opened(publish: Publish) -> Handler:
    async def handle_home_opened(body: dict[str, Any], client: AsyncWebClient) -> None:
        user_id = str((body.get("event") or {}).get("user") or "")
        if payloads.is_user_id(user_id):
            await publish(client, payloads.to_team(body), user_id)

    return handle_home_opened


def build_handle_schedule_change(
    schedules: Schedules, connections: Connections | None, publish: Publish
) -> Handler:
    async def handle_schedule_change(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        action = body["actions"][0]
        change = CHANGES.get(str(action.get("action_id")))
        if change is None:
            return
        team, user_id = payloads.to_team(body), payloads.to_user(body)
        admin = await may_change_all(client, connections, team, user_id)
        changed = await schedules.change(
            team,
            user_id,
            str(action.get("value") or ""),
            change,
            admin=admin,
            cause=str(action.get("action_ts") or body.get("trigger_id") or ""),
        )
        refused = _REFUSED.get(changed)
        if refused is not None:
            await _tell(client, str(body.get("trigger_id") or ""), refused)
        await publish(client, team, user_id)

    return handle_schedule_change


async def _tell(client: AsyncWebClient, trigger_id: str, text: str) -> None:
    """Say why nothing changed, in a small modal (App Home has no private reply)."""
    view = {
        "type": "modal",
        "title": plain_text(texts.HOME_TITLE),
        "close": plain_text(texts.FAILED_CLOSE),
        "blocks": [section_block(text, "refused")],
    }
    try:
        await client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as exc:
        log.warning(
            "could not say why a schedule did not change", extra={"error": slack_error(exc)}
        )
