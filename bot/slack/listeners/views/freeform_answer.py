"""The "Or something else" modal: a typed answer to one question."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck

from bot.conversations import Conversations
from bot.domain import ThreadRef
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
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
            thread = ThreadRef(str(meta["team"]), str(meta["channel"]), str(meta["thread_ts"]))
            run_id, question = str(meta["run_id"]), int(meta["q"])
        except (ValueError, KeyError, TypeError):
            log.warning("freeform modal without usable metadata")
            await ack()
            return
        await ack()
        await conversations.buttons.answer(
            thread, run_id, question, payloads.to_user(body), text=text
        )

    return handle_freeform_answer
