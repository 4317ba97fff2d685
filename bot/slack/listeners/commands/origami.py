"""``/origami help | new <prompt> | list | schedules``.

Answers go to the person who typed the command only: in the ack (Slack shows a slash
command's ack body as a private reply) when they are ready at once, else through the
command's ``response_url``. ``new`` acks first and opens its thread after, so Slack's 3 s
never wait on a post.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.conversations import Conversations
from bot.conversations.commands import Opened
from bot.slack import payloads, settings_texts
from bot.slack.blocks import Message
from bot.slack.blocks import commands as replies
from bot.slack.blocks.schedules import build_schedules_list
from bot.slack.commands import SlashCommand, Verb, parse_command
from bot.workspace_settings import NotAllowed

log = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[None]]

# ``/origami schedules`` answers in its ack: Origami's list must come within Slack's 3 s.
LIST_TIMEOUT_S = 2.2


def _private(message: Message) -> dict[str, Any]:
    return {"text": message.text, "blocks": message.blocks, "response_type": "ephemeral"}


def build_handle_origami_command(conversations: Conversations) -> Handler:
    async def handle_origami_command(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond
    ) -> None:
        command = parse_command(body.get("text"))
        if command.verb is Verb.NEW and command.rest:
            await ack()
            await _new(conversations, body, command, respond)
            return
        await ack(**_private(await _answer(conversations, body, command)))

    return handle_origami_command


async def _answer(
    conversations: Conversations, body: dict[str, Any], command: SlashCommand
) -> Message:
    if command.verb is Verb.NEW:
        return replies.build_command_note(replies.NEW_EMPTY)
    if command.verb is Verb.SCHEDULES:
        return await _schedules(conversations, payloads.to_team(body))
    if command.verb is Verb.LIST:
        try:
            started = await conversations.commands.started(
                payloads.to_team(body), str(body.get("user_id", ""))
            )
        except Exception:
            log.exception("could not read the conversations of /origami list")
            return replies.build_command_note(replies.FAILED)
        return replies.build_started_list(started, str(body.get("team_domain") or ""))
    return replies.build_command_help(command.word if command.verb is None else None)


async def _schedules(conversations: Conversations, team: str) -> Message:
    """The workspace's schedules; Origami is read once, within the ack's 3 s (its client
    gives up after the timeout, and the reply says the list cannot be read now)."""
    if conversations.schedules is None:
        return build_schedules_list(None)
    try:
        async with asyncio.timeout(LIST_TIMEOUT_S):
            views = await conversations.schedules.listing(team)
    except Exception as exc:
        log.warning("could not list the schedules", extra={"error": type(exc).__name__})
        return build_schedules_list(None)
    return build_schedules_list(views)


async def _new(
    conversations: Conversations, body: dict[str, Any], command: SlashCommand, respond: AsyncRespond
) -> None:
    try:
        opened = await conversations.commands.new(
            payloads.to_team(body),
            str(body.get("channel_id", "")),
            str(body.get("user_id", "")),
            str(body.get("user_name") or ""),
            command.rest,
            str(body.get("trigger_id") or body.get("command_ts") or ""),
        )
    except Exception:
        log.exception("/origami new failed")
        await respond(**_private(replies.build_command_note(replies.FAILED)))
        return
    if opened is Opened.NOT_IN_CHANNEL:
        await respond(**_private(replies.build_command_note(replies.NOT_IN_CHANNEL)))
    elif isinstance(opened, NotAllowed):
        await respond(**_private(replies.build_command_note(settings_texts.NOT_ALLOWED[opened])))
