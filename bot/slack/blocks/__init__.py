"""Pure Block Kit builders: plain values in, ``Message`` (fallback text + blocks) out.

No I/O here. Every builder respects Slack's limits by construction (``bot.slack.limits``):
long text is split across sections and messages, labels are clipped, ids stay short and
unique, and everything an agent wrote is escaped. Button values carry only ids and
indexes (``bot.slack.actions``). Link buttons built from Origami's data lead only to the
Origami app's host: the builders take it as ``app_url`` (default ``ORIGAMI_APP_URL``).

- ``common``: ``Message``, ``Block`` and the small block helpers the builders share
- ``progress``: the first reply and the progress line
- ``result``: a finished run's messages, and the whole answer when they show only its
  beginning (``result_overflow``, for a file)
- ``tables``: table cards (``card``, ``carousel``) and the "still enriching" alert
- ``previews``: a table's first leads as a ``table`` block
- ``feedback``: the AI note and the feedback buttons under every result
- ``steps``: what the agent did, as a plan of task cards (Show steps)
- ``questions``: the agent's questions and their answers
- ``modals``: the "Or something else" modal
- ``notices``: problems and one-off notes
"""

from bot.domain import Answer
from bot.slack.blocks.common import ORIGAMI_APP_URL, Block, Message
from bot.slack.blocks.feedback import build_feedback
from bot.slack.blocks.home import build_home
from bot.slack.blocks.home_connection import build_key_modal, build_only_admins_modal
from bot.slack.blocks.modals import build_freeform_modal
from bot.slack.blocks.notices import (
    build_already_answered,
    build_low_credits,
    build_note,
    build_problem,
    build_queued,
    build_usage_hint,
    build_waiting_for_slot,
    with_context_note,
)
from bot.slack.blocks.previews import build_preview
from bot.slack.blocks.progress import build_ack, build_progress, build_progress_final
from bot.slack.blocks.questions import MAX_SUGGESTIONS, build_questions, build_questions_closed
from bot.slack.blocks.result import MAX_TEXT_MESSAGES, build_result, result_overflow
from bot.slack.blocks.steps import build_steps
from bot.slack.blocks.tables import build_shared_table, build_table_card, build_table_cards

__all__ = [
    "MAX_SUGGESTIONS",
    "MAX_TEXT_MESSAGES",
    "ORIGAMI_APP_URL",
    "Answer",
    "Block",
    "Message",
    "build_ack",
    "build_already_answered",
    "build_feedback",
    "build_freeform_modal",
    "build_home",
    "build_key_modal",
    "build_low_credits",
    "build_note",
    "build_only_admins_modal",
    "build_preview",
    "build_problem",
    "build_progress",
    "build_progress_final",
    "build_questions",
    "build_questions_closed",
    "build_queued",
    "build_result",
    "build_shared_table",
    "build_steps",
    "build_table_card",
    "build_table_cards",
    "build_usage_hint",
    "build_waiting_for_slot",
    "result_overflow",
    "with_context_note",
]
