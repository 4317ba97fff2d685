"""The foot of every result: a short AI note (Slack's AI guidelines ask for one) and the
feedback buttons (``feedback_buttons`` in a ``context_actions`` block)."""

from __future__ import annotations

from bot.domain import Verdict
from bot.slack import actions as ids
from bot.slack import texts
from bot.slack.blocks.common import Block, context_block, plain_text


def _button(text: str, label: str, run_id: str, verdict: Verdict) -> dict[str, object]:
    return {
        "text": plain_text(text),
        "accessibility_label": label,
        "value": ids.feedback_value(run_id, verdict),
    }


def build_feedback(run_id: str) -> list[Block]:
    """The AI note, and the feedback buttons when ``run_id`` can be carried by them."""
    blocks: list[Block] = [context_block(texts.AI_NOTE, "ai_note")]
    if ids.is_run_id(run_id):
        feedback = {
            "type": "feedback_buttons",
            "action_id": ids.FEEDBACK,
            "positive_button": _button(
                texts.FEEDBACK_GOOD, texts.FEEDBACK_GOOD_LABEL, run_id, Verdict.GOOD
            ),
            "negative_button": _button(
                texts.FEEDBACK_BAD, texts.FEEDBACK_BAD_LABEL, run_id, Verdict.BAD
            ),
        }
        blocks.append({"type": "context_actions", "block_id": "feedback", "elements": [feedback]})
    return blocks
