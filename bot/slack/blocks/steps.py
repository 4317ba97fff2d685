"""What the agent did, as a ``plan`` block of ``task_card`` blocks (Show steps).

A task card's title is plain text; its details and output are ``rich_text`` whose text
is the agent's data, shown as typed: angle brackets are swapped for look-alikes, so
nothing in it can read as a Slack mention or link.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.origami.transcript import ToolStep
from bot.slack import limits, texts
from bot.slack.blocks.common import Block, Message, context_block, preview_text
from bot.slack.mrkdwn import strip_controls

# Task cards shown in one plan: the rest are counted in a note.
MAX_STEPS = 20
_TITLE_CHARS = 100
_NO_BRACKETS = str.maketrans({"<": "‹", ">": "›"})


def _plain(text: str, limit: int) -> str:
    shown = strip_controls(text).translate(_NO_BRACKETS).strip()
    return shown if len(shown) <= limit else shown[: limit - 1].rstrip() + "…"


def _rich(text: str) -> Block:
    return {
        "type": "rich_text",
        "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
    }


def _task(step: ToolStep, n: int) -> Block:
    task: Block = {
        "type": "task_card",
        "task_id": f"{n}-{step.id}"[: limits.MAX_BLOCK_ID],
        "title": _plain(step.title, _TITLE_CHARS) or "A step",
        "status": step.status.value,
    }
    details = _plain(step.details, limits.MAX_SECTION_TEXT)
    if details:
        task["details"] = _rich(details)
    output = _plain(step.output, limits.MAX_SECTION_TEXT)
    if output:
        task["output"] = _rich(output)
    return task


def build_steps(steps: Sequence[ToolStep], *, truncated: bool) -> Message:
    """The agent's tool calls as a plan of task cards, or a note when it made none."""
    if not steps:
        text = texts.NO_STEPS
        return Message(text=preview_text(text), blocks=[context_block(text, "steps:none")])
    shown = list(steps[:MAX_STEPS])
    blocks: list[Block] = [
        {
            "type": "plan",
            "block_id": "steps",
            "title": texts.STEPS_TITLE,
            "tasks": [_task(step, n) for n, step in enumerate(shown)],
        }
    ]
    if len(steps) > len(shown) or truncated:
        blocks.append(
            context_block(texts.steps_more(len(steps) - len(shown), truncated), "steps:more")
        )
    summary = "; ".join(step.title for step in shown[:5])
    return Message(text=preview_text(f"{texts.STEPS_TITLE}: {summary}"), blocks=blocks)
