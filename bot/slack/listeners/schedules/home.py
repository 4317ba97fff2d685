"""App Home's schedules: the section (the workspace's schedules, with Pause / Resume /
Delete for those who may), and the buttons. Who may change a schedule is checked again on
every click (``Schedules.change``): a stale tab or a forged payload changes nothing."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.origami.scheduled import is_origami_id
from bot.schedules.manage import Changed, Schedules
from bot.schedules.records import Change
from bot.slack import payloads
from bot.slack import schedule_actions as ids
from bot.slack import schedule_texts as texts
from bot.slack.blocks.common import build_notice_modal
from bot.slack.blocks.schedules import build_schedules_home
from bot.slack.listeners.home.home_tab import HomeSection, HomeTab
from bot.slack.messages import slack_error

log = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[None]]

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


def build_schedules_section(schedules: Schedules) -> HomeSection:
    async def schedules_section(
        client: AsyncWebClient, team: str, user_id: str, manage: bool
    ) -> list[dict[str, Any]]:
        try:
            views = await schedules.listing(team)
        except Exception as exc:
            log.warning(
                "could not read the schedules for App Home", extra={"error": type(exc).__name__}
            )
            return build_schedules_home(None, may_change=frozenset())
        # Whoever may manage the workspace (as they may change its key) may change any.
        may = frozenset(
            v.record.schedule_id for v in views if manage or v.record.creator == user_id
        )
        return build_schedules_home(views, may_change=may)

    return schedules_section


def build_handle_schedule_change(schedules: Schedules, tab: HomeTab) -> Handler:
    async def handle_schedule_change(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        action = body["actions"][0]
        change = CHANGES.get(str(action.get("action_id")))
        if change is None:
            return
        team, user_id = payloads.to_team(body), payloads.to_user(body)
        schedule_id = str(action.get("value") or "")
        manage: bool | None = None  # not asked: the republished tab asks
        try:
            # Its maker may change it whoever they are: Slack is asked about anyone else.
            if not await _made_by(schedules, team, schedule_id, user_id):
                manage = await tab.may_manage(client, team, user_id)
            changed = await schedules.change(
                team,
                user_id,
                schedule_id,
                change,
                admin=bool(manage),
                cause=str(action.get("action_ts") or body.get("trigger_id") or ""),
            )
        except Exception:
            log.exception("a schedule change failed")
            changed = Changed.FAILED
        refused = _REFUSED.get(changed)
        if refused is not None:
            await _tell(client, str(body.get("trigger_id") or ""), refused)
        await tab.publish(client, team, user_id, manage=manage)

    return handle_schedule_change


async def _made_by(schedules: Schedules, team: str, schedule_id: str, user_id: str) -> bool:
    """Whether ``user_id`` made the schedule (one Redis read; ``Schedules.change`` checks
    again, this only spares a users.info)."""
    if not is_origami_id(schedule_id):
        return False
    record = await schedules.stores.schedules.get(team, schedule_id)
    return record is not None and record.creator == user_id


async def _tell(client: AsyncWebClient, trigger_id: str, text: str) -> None:
    """Say why nothing changed, in a small modal (App Home has no private reply)."""
    view = build_notice_modal(texts.HOME_TITLE, texts.FAILED_CLOSE, text, "refused")
    try:
        await client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as exc:
        log.warning(
            "could not say why a schedule did not change", extra={"error": slack_error(exc)}
        )
