"""Buttons about a run: Stop, Continue, Retry, and the agent's suggested next steps."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversations import Conversations
from bot.conversations.buttons import Buttons
from bot.domain import ThreadRef
from bot.slack import actions as ids
from bot.slack import payloads
from bot.slack.listeners.schedules.modal import open_schedule_modal

log = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[None]]


def _run_id(body: dict[str, Any]) -> str | None:
    value = str(body["actions"][0].get("value", ""))
    return value if ids.is_run_id(value) else None


RunButton = Callable[[Buttons, ThreadRef, str, str, str], Awaitable[None]]


def _build_run_button(conversations: Conversations, act: RunButton) -> Handler:
    """A button whose value is a run id and whose click goes to one use case."""

    async def handle(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        run_id = _run_id(body)
        if run_id is None:
            return
        await act(
            conversations.buttons,
            payloads.to_action_thread(body),
            run_id,
            payloads.to_user(body),
            payloads.to_action_message_ts(body),
        )

    return handle


def build_handle_stop_run(conversations: Conversations) -> Handler:
    return _build_run_button(conversations, Buttons.stop)


def build_handle_continue_run(conversations: Conversations) -> Handler:
    return _build_run_button(conversations, Buttons.continue_run)


def build_handle_retry_run(conversations: Conversations) -> Handler:
    return _build_run_button(conversations, Buttons.retry_run)


def build_handle_next_action(conversations: Conversations) -> Handler:
    async def handle_next_action(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        try:
            ref = ids.parse_next_action(str(body["actions"][0].get("value", "")))
        except ValueError:
            log.warning("malformed next-action button value")
            return
        thread = payloads.to_action_thread(body)
        draft = await conversations.next_steps.click(
            thread,
            ref.run_id,
            ref.index,
            payloads.to_user(body),
            payloads.to_action_message_ts(body),
        )
        if draft is not None:  # a schedule_play step: its modal
            await open_schedule_modal(client, str(body.get("trigger_id") or ""), draft, thread)

    return handle_next_action
