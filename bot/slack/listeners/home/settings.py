"""The workspace's settings: "Change settings" opens the modal, its submission saves
them. Each checks, on its own, that the person may (an admin or owner, or whoever
installed the app): a button can be clicked from a stale tab, a submission forged."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import actions as ids
from bot.slack import payloads, settings_texts
from bot.slack.blocks.home_settings import build_settings_modal, build_settings_only_admins_modal
from bot.slack.listeners.home.home_tab import HomeTab
from bot.slack.settings_form import parse_settings
from bot.slack.usergroups import list_groups

log = logging.getLogger(__name__)


def build_handle_open_settings(tab: HomeTab) -> Callable[..., Awaitable[None]]:
    async def handle_open_settings(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        team, user_id = payloads.to_team(body), payloads.to_user(body)
        trigger_id = str(body.get("trigger_id") or "")
        # The trigger id lasts 3 s: users.info, one Redis read and usergroups.list fit.
        if not await tab.may_manage(client, team, user_id):
            await client.views_open(trigger_id=trigger_id, view=build_settings_only_admins_modal())
            return
        settings = await tab.home.settings(team)
        view = build_settings_modal(settings, await list_groups(client))
        await client.views_open(trigger_id=trigger_id, view=view)

    return handle_open_settings


def build_handle_settings_submitted(tab: HomeTab) -> Callable[..., Awaitable[None]]:
    async def handle_settings_submitted(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        team, user_id = payloads.to_team(body), payloads.to_user(body)
        if not await tab.may_manage(client, team, user_id):
            log.warning("a settings change refused: not an admin", extra={"user": user_id})
            errors = {ids.SETTINGS_CHANNELS_BLOCK: settings_texts.ONLY_ADMINS}
            await ack(response_action="errors", errors=errors)
            return
        current = await tab.home.settings(team)
        parsed = parse_settings(body.get("view"), user_id, time.time(), current)
        if isinstance(parsed, dict):
            await ack(response_action="errors", errors=parsed)
            return
        await tab.home.save_settings(team, parsed)
        await ack()
        await tab.publish(client, team, user_id, manage=True)

    return handle_settings_submitted
