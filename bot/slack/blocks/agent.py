"""Messages of Slack's agent surfaces: the Messages tab's onboarding, the "On it"
message with our Stop button (where Slack's own Stop is refused), and who pressed
Slack's Stop."""

from __future__ import annotations

from bot.slack import actions as ids
from bot.slack import agent_texts, texts
from bot.slack.blocks.common import (
    Block,
    Message,
    actions_blocks,
    context_block,
    fallback_text,
    section_block,
    stop_button,
)


def build_onboarding(user_id: str) -> Message:
    text = f"*{agent_texts.ONBOARDING_TITLE}*\n{agent_texts.onboarding(user_id)}"
    return Message(
        text=fallback_text(agent_texts.ONBOARDING_TITLE), blocks=[section_block(text, "onboarding")]
    )


def build_working(run_id: str) -> Message:
    """The "On it" message while the thread's status shows the progress: only the Stop
    button, so the run has one progress indicator."""
    blocks: list[Block] = [section_block(texts.PROGRESS_TITLE, "progress")]
    if ids.is_run_id(run_id):
        blocks.extend(actions_blocks([stop_button(run_id)], "progress_actions"))
    return Message(text=fallback_text(agent_texts.WORKING_PREVIEW), blocks=blocks)


def build_stopped_by(user_id: str) -> Message:
    line = agent_texts.stopped_by(user_id)
    return Message(text=fallback_text(line), blocks=[context_block(line, "stopped")])
