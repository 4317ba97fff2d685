"""The "Or something else" modal: a typed answer to one question."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck

from bot.conversations import Conversations
from bot.origami.client import PROMPT_MAX_CHARS, utf16_len
from bot.slack import actions as ids
from bot.slack import payloads, texts

log = logging.getLogger(__name__)


def build_handle_freeform_answer(conversations: Conversations) -> Callable[..., Awaitable[None]]:
    async def handle_freeform_answer(ack: AsyncAck, body: dict[str, Any]) -> None:
        view = body["view"]
        values = view.get("state", {}).get("values", {})
        raw = (values.get(ids.FREEFORM_BLOCK) or {}).get(ids.FREEFORM_INPUT) or {}
        text = str(raw.get("value") or "").strip()
        if not text:
            await ack(response_action="errors", errors={ids.FREEFORM_BLOCK: texts.ANSWER_EMPTY})
            return
        if (length := utf16_len(text)) > PROMPT_MAX_CHARS:  # as Origami counts
            error = texts.answer_too_long(length, PROMPT_MAX_CHARS)
            await ack(response_action="errors", errors={ids.FREEFORM_BLOCK: error})
            return
        # The metadata is only a token; what it answers was kept when the modal opened,
        # for the person who opened it (a forged token, or someone else's, does nothing).
        token = str(view.get("private_metadata") or "")
        await ack()
        team = payloads.to_team(body)
        if not await conversations.buttons.typed_answer(team, token, payloads.to_user(body), text):
            log.warning("typed answer with an unknown modal token")

    return handle_freeform_answer
