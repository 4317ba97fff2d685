"""The use cases a person starts from Slack: messages (``intake``), buttons (``buttons``),
table actions (``tables``), next steps by type (``next_steps``), pasted table links
(``links``), ``/origami``
(``commands``), feedback on a result (``feedback``), what the agent did (``steps``), the
Messages tab (``agent_dm``), Slack's Stop (``sessions``) and schedules (``schedules``,
from ``bot.schedules``). They work on plain values and
the presenter port; none sends to Origami a prompt itself: prompts are kept, and a sender
(``bot.sending``) sends them."""

from __future__ import annotations

from dataclasses import dataclass

from bot.conversations.agent_dm import AgentDm
from bot.conversations.buttons import Buttons
from bot.conversations.commands import Commands
from bot.conversations.feedback import Feedback
from bot.conversations.intake import Intake
from bot.conversations.links import Links
from bot.conversations.next_steps import NextSteps
from bot.conversations.sessions import Sessions
from bot.conversations.steps import Steps
from bot.conversations.tables import Tables
from bot.schedules.manage import Schedules


@dataclass(frozen=True, slots=True)
class Conversations:
    """What the Slack listeners call."""

    intake: Intake
    buttons: Buttons
    tables: Tables
    agent_dm: AgentDm  # the Messages tab
    sessions: Sessions  # Slack's own Stop
    commands: Commands
    next_steps: NextSteps
    links: Links
    feedback: Feedback
    steps: Steps
    # Schedules made from a result (None: a harness that makes none).
    schedules: Schedules | None = None
