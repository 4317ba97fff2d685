"""The first reply in a thread and the progress line it becomes."""

from __future__ import annotations

from bot.origami.models import RunStatus
from bot.slack import actions as ids
from bot.slack import texts
from bot.slack.blocks.common import (
    Block,
    Message,
    actions_blocks,
    context_block,
    fallback_text,
    note_message,
    section_block,
    stop_button,
)


def build_ack() -> Message:
    """Posted at once in the thread; it becomes the progress message."""
    return note_message(texts.ACK, "ack")


def build_progress(
    *,
    run_id: str,
    steps_completed: int,
    elapsed_s: float,
    leads_found: int | None = None,
    queued: int = 0,
) -> Message:
    line = texts.progress_line(
        steps_completed=steps_completed,
        elapsed_s=elapsed_s,
        leads_found=leads_found,
        queued=queued,
    )
    blocks: list[Block] = [section_block(f"{texts.PROGRESS_TITLE}\n{line}", "progress")]
    if ids.is_run_id(run_id):
        blocks.extend(actions_blocks([stop_button(run_id)], "progress_actions"))
    return Message(text=fallback_text(f"{texts.PROGRESS_PREVIEW} {line}"), blocks=blocks)


def build_progress_final(
    *, status: RunStatus, elapsed_s: float, steps_completed: int, steps_max: int
) -> Message:
    line = texts.progress_final(
        status, elapsed_s=elapsed_s, steps_completed=steps_completed, steps_max=steps_max
    )
    return Message(text=fallback_text(line), blocks=[context_block(line, "progress")])
