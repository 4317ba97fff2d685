"""Question buttons: a suggested answer, "Or something else" (a modal), "Send answers"."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.conversations import Conversations
from bot.slack import actions as ids
from bot.slack import payloads
from bot.slack.blocks import build_freeform_modal

log = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[None]]


def _action(body: dict[str, Any]) -> dict[str, Any]:
    return dict(body["actions"][0])


def build_handle_answer(conversations: Conversations) -> Handler:
    async def handle_answer(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        try:
            ref = ids.parse_answer(str(_action(body).get("value", "")))
        except ValueError:
            log.warning("malformed answer button value")
            return
        await conversations.buttons.answer(
            payloads.to_action_thread(body),
            ref.run_id,
            ref.question,
            payloads.to_user(body),
            choice=ref.answer,
        )

    return handle_answer


def build_handle_answer_other(conversations: Conversations) -> Handler:
    async def handle_answer_other(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        try:
            ref = ids.parse_question_ref(str(_action(body).get("value", "")))
        except ValueError:
            log.warning("malformed freeform button value")
            return
        thread = payloads.to_action_thread(body)
        user = payloads.to_user(body)
        # trigger_id lives 3 s: two Redis steps, then open the modal; Origami comes later.
        opened = await conversations.buttons.open_typed_answer(
            thread, ref.run_id, ref.question, user
        )
        if opened is None:
            return
        question, token = opened
        await client.views_open(
            trigger_id=body["trigger_id"],
            view=build_freeform_modal(question=question, private_metadata=token),
        )

    return handle_answer_other


def build_handle_send_answers(conversations: Conversations) -> Handler:
    async def handle_send_answers(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        run_id = str(_action(body).get("value", ""))
        if not ids.is_run_id(run_id):
            return
        await conversations.buttons.send_answers(
            payloads.to_action_thread(body), run_id, payloads.to_user(body)
        )

    return handle_send_answers
