"""The use cases a person starts from Slack: messages (``intake``), buttons (``buttons``),
table actions (``tables``) and feedback on a result (``feedback``). They work on plain
values and the presenter port; none sends to Origami a prompt itself: prompts are kept, and
a sender (``bot.sending``) sends them."""

from __future__ import annotations

from dataclasses import dataclass

from bot.conversations.buttons import Buttons
from bot.conversations.feedback import Feedback
from bot.conversations.intake import Intake
from bot.conversations.tables import Tables


@dataclass(frozen=True, slots=True)
class Conversations:
    """What the Slack listeners call."""

    intake: Intake
    buttons: Buttons
    tables: Tables
    feedback: Feedback
