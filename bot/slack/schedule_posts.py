"""What schedules post in Slack channels (``SchedulePosts`` of ``bot.schedules.manage``):
the confirmation of a new schedule, and the top message of each scheduled run's thread,
marked with the run's id in its metadata so that a post whose ts was never recorded (a
process died just after it) is found instead of posted twice."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.schedules.records import ScheduleRecord
from bot.slack.blocks import Message
from bot.slack.blocks.schedules import (
    build_cannot_post,
    build_run_opener,
    build_runs_waiting,
    build_scheduled_confirmation,
)
from bot.slack.messages import slack_error
from bot.tenancy.slack import SlackFor

log = logging.getLogger(__name__)

RUN_EVENT = "origami_scheduled_run"  # metadata event_type of a run's top message
# What chat.postMessage answers in a conversation the app is not in, or may not post in.
_CANNOT_POST = frozenset(
    {"not_in_channel", "channel_not_found", "is_archived", "restricted_action"}
)
_FIND_LIMIT = 200


class SlackSchedulePosts:
    def __init__(self, clients: SlackFor) -> None:
        self.clients = clients

    async def _post(
        self, team: str, channel: str, message: Message, metadata: dict[str, Any] | None = None
    ) -> str | None:
        client = await self.clients.for_team(team)
        try:
            response = await client.chat_postMessage(
                channel=channel,
                text=message.text,
                blocks=message.blocks,
                unfurl_links=False,
                unfurl_media=False,
                metadata=metadata,
            )
        except SlackApiError as exc:
            if slack_error(exc) in _CANNOT_POST:
                log.warning(
                    "cannot post in a schedule's channel", extra={"error": slack_error(exc)}
                )
                return None
            raise
        return str(response["ts"])

    async def confirm(self, record: ScheduleRecord) -> bool:
        posted = await self._post(record.team, record.channel, build_scheduled_confirmation(record))
        return posted is not None

    async def cannot_post(
        self, record: ScheduleRecord, channel: str, thread_ts: str, user: str
    ) -> None:
        """Tell the person who made it, privately where they made it, that the app cannot
        post in the schedule's channel."""
        client = await self.clients.for_team(record.team)
        message = build_cannot_post(record)
        try:
            await client.chat_postEphemeral(
                channel=channel,
                thread_ts=thread_ts,
                user=user,
                text=message.text,
                blocks=message.blocks,
            )
        except SlackApiError as exc:
            log.warning(
                "could not say that a channel is closed to me", extra={"error": slack_error(exc)}
            )

    async def runs_waiting(self, record: ScheduleRecord) -> None:
        """Tell the schedule's maker, in the app's DM (a post to their user id), that its
        runs wait for its channel."""
        client = await self.clients.for_team(record.team)
        message = build_runs_waiting(record)
        try:
            await client.chat_postMessage(
                channel=record.creator, text=message.text, blocks=message.blocks
            )
        except SlackApiError as exc:
            log.warning(
                "could not tell a schedule's maker its channel is closed",
                extra={"error": slack_error(exc)},
            )

    async def open_run_thread(self, record: ScheduleRecord, run_id: str) -> str | None:
        metadata = {"event_type": RUN_EVENT, "event_payload": {"run": run_id}}
        return await self._post(
            record.team, record.channel, build_run_opener(record), metadata=metadata
        )

    async def find_run_thread(
        self, record: ScheduleRecord, run_id: str, since: float, until: float
    ) -> str:
        client = await self.clients.for_team(record.team)
        try:
            # Bounded on both sides, so one page holds the window (a busy channel's newer
            # messages would otherwise push the opener past it).
            response = await client.conversations_history(
                channel=record.channel,
                oldest=f"{max(since, 0):.6f}",
                latest=f"{max(until, since, 0):.6f}",
                inclusive=True,
                include_all_metadata=True,
                limit=_FIND_LIMIT,
            )
        except SlackApiError as exc:
            if slack_error(exc) in _CANNOT_POST:
                # Not in the channel (any more): no opener could have been posted there.
                log.warning("cannot read a schedule's channel", extra={"error": slack_error(exc)})
                return ""
            raise
        for message in response.get("messages") or []:
            meta = message.get("metadata") or {}
            payload = meta.get("event_payload") or {}
            if meta.get("event_type") == RUN_EVENT and payload.get("run") == run_id:
                return str(message["ts"])
        return ""
