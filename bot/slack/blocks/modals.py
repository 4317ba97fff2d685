"""Modals: the "Or something else" box for a typed answer."""

from __future__ import annotations

from typing import Any

from bot.slack import actions as ids
from bot.slack import limits, texts
from bot.slack.blocks.common import plain_text, section_block
from bot.slack.mrkdwn import clip_mrkdwn, markdown_to_mrkdwn


def build_freeform_modal(
    *, question: str, private_metadata: str, initial: str = ""
) -> dict[str, Any]:
    """The "Or something else" modal: the question and a text box for a typed answer."""
    if len(private_metadata) > limits.MAX_PRIVATE_METADATA:
        raise ValueError("private_metadata is longer than Slack allows")
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": ids.FREEFORM_INPUT,
        "multiline": True,
        "min_length": 1,
        # Slack caps max_length at 3,000 (Origami would take 10,000).
        "max_length": limits.MAX_TEXT_INPUT_LENGTH,
        "placeholder": plain_text(texts.MODAL_PLACEHOLDER),
    }
    if initial:
        element["initial_value"] = initial[: limits.MAX_TEXT_INPUT_LENGTH]
    question_text = clip_mrkdwn(
        markdown_to_mrkdwn(question.strip()) or "…", limits.MAX_SECTION_TEXT
    )
    return {
        "type": "modal",
        "callback_id": ids.FREEFORM_MODAL,
        "private_metadata": private_metadata,
        "title": plain_text(texts.MODAL_TITLE[: limits.MAX_MODAL_TITLE]),
        "submit": plain_text(texts.MODAL_SUBMIT),
        "close": plain_text(texts.MODAL_CLOSE),
        "blocks": [
            section_block(question_text, "question"),
            {
                "type": "input",
                "block_id": ids.FREEFORM_BLOCK,
                "label": plain_text(texts.MODAL_INPUT_LABEL),
                "element": element,
            },
        ],
    }
