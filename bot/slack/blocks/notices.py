"""One-off messages: problems, usage hint, queue and slot notes, and notes added to an
existing message."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.domain import Answer
from bot.problems import Problem, ProblemKind
from bot.slack import actions as ids
from bot.slack import limits, texts
from bot.slack.blocks.common import (
    Block,
    Message,
    actions_blocks,
    alert_block,
    button_element,
    context_block,
    fallback_text,
    link_url,
    note_message,
    section_block,
    stop_button,
)

_BILLING = frozenset(
    {
        ProblemKind.OUT_OF_CREDITS,
        ProblemKind.PLAN_REQUIRED,
        ProblemKind.BUDGET_EXCEEDED,
        ProblemKind.ACCOUNT_BLOCKED,
        ProblemKind.PAYMENT_REQUIRED,
    }
)


def build_problem(problem: Problem, *, retrying: bool = False) -> Message:
    """The fixed sentence for ``problem.kind``, and a link button to the fix when known."""
    text = texts.problem(problem, retrying=retrying)
    # Credit and billing problems stand out as an alert: nothing runs until someone acts.
    first = (
        alert_block(text, "problem", level="warning")
        if problem.kind in _BILLING
        else section_block(text, "problem")
    )
    blocks: list[Block] = [first]
    buttons: list[dict[str, Any]] = []
    url = link_url(problem.fix_url)
    if url is not None:
        buttons.append(
            button_element(
                texts.problem_button(problem.kind), ids.OPEN_LINK, url=url, style="primary"
            )
        )
    if problem.retry_run is not None and ids.is_run_id(problem.retry_run):
        # A run given up: its prompt can be sent again (the Retry of a failed run).
        buttons.append(button_element(texts.RETRY, ids.RETRY_RUN, value=problem.retry_run))
    if buttons:
        blocks.extend(actions_blocks(buttons, "problem_actions"))
    return Message(text=fallback_text(text), blocks=blocks)


def build_low_credits(balance: float) -> Message:
    text = texts.low_credits(balance)
    return Message(text=fallback_text(text), blocks=[alert_block(text, "low_credits")])


def build_usage_hint() -> Message:
    return note_message(texts.USAGE_HINT, "usage")


def build_queued(*, position: int, run_id: str | None) -> Message:
    text = texts.queued(position)
    blocks: list[Block] = [section_block(text, "queued")]
    if run_id is not None and ids.is_run_id(run_id):
        blocks.extend(actions_blocks([stop_button(run_id, texts.STOP_CURRENT)], "queued_actions"))
    return Message(text=fallback_text(text), blocks=blocks)


def build_waiting_for_slot(
    *, busy: int | None, limit: int | None, retry_after_s: float | None
) -> Message:
    return note_message(texts.waiting_for_slot(busy, limit, retry_after_s), "waiting")


def build_already_answered(answer: Answer) -> Message:
    return note_message(texts.already_answered(answer.user_id, answer.text), "already_answered")


def build_note(text: str) -> Message:
    """A one-section message from a ready-made sentence of ``texts``."""
    return note_message(text)


def with_context_note(blocks: Sequence[Mapping[str, Any]], note: str, *, fallback: str) -> Message:
    """``blocks`` (an existing message, buttons removed) with ``note`` added at the end."""
    kept = [dict(block) for block in blocks][: limits.MAX_BLOCKS_PER_MESSAGE - 1]
    taken = {block.get("block_id") for block in kept}
    block_id, n = "note", 1
    while block_id in taken:
        n += 1
        block_id = f"note:{n}"
    kept.append(context_block(note, block_id))
    return Message(text=fallback_text(fallback or note), blocks=kept)
