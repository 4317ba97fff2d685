"""Slack's agent platform as the app uses it, in plain values: the features a workspace
may refuse, an agent session's states, a suggested prompt, what Slack did with a call,
and the port that shows them in Slack (``bot.slack.agent_surface.SlackAgentSurface``).

The use cases decide when a session is processing or a status shows; the port knows how
Slack is called. Nothing here knows Slack's wire format.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from bot.domain import Progress, ThreadRef

# Slack shows at most 4 suggested prompts (``assistant.threads.setSuggestedPrompts``).
PROMPTS_MAX = 4
# A session's title is at most 200 characters (``agents.sessions.setStatus``).
SESSION_TITLE_MAX = 200
# Slack clears a thread's status 2 minutes after it was set if the app posts nothing
# meanwhile. A running run sets it again at its first poll in each 90 s of its life,
# flagged or not (``bot.live_status.should_show``): two such polls are at most 90 s plus
# one poll interval (15 s) apart. Within one such window, a status whose text did not
# change is not set again.
STATUS_REFRESH_S = 90.0


def status_window(elapsed_s: float) -> int:
    """Which 90 s window of its run's life a status set at ``elapsed_s`` falls in."""
    return math.floor(max(elapsed_s, 0.0) / STATUS_REFRESH_S)


class AgentFeature(StrEnum):
    """What a workspace may refuse; each has a fallback."""

    SESSIONS = "sessions"  # agents.sessions.setStatus: Slack's own Stop (else our Stop button)
    STATUS = "status"  # assistant.threads.setStatus: the live status (else the progress line)


class SessionStatus(StrEnum):
    ACTIVE = "active"  # between runs: the conversation goes on
    PROCESSING = "processing"  # a run in flight: Slack shows its Stop button
    SUSPENDED = "suspended"
    CLOSED = "closed"  # the conversation is over (its agent is gone)


class Shown(StrEnum):
    """What Slack did with an agent-platform call."""

    SHOWN = "shown"
    REFUSED = "refused"  # the workspace refuses the method or its scope: use the fallback
    FAILED = "failed"  # a failure another call may not have (already retried by the client)


class SuggestedPrompt(BaseModel):
    """One of the Messages tab's suggested prompts: its title, and what it sends."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Bounded so a setting cannot make Slack refuse the call (the title is one line).
    title: str = Field(min_length=1, max_length=75)
    message: str = Field(min_length=1, max_length=2_000)


# The setting's defaults (SUGGESTED_PROMPTS, SUGGESTED_PROMPTS_TITLE).
SUGGESTED_PROMPTS_TITLE = "Try one of these"

# Real asks from sales teams: each names who, where, and what makes a lead qualified.
DEFAULT_PROMPTS = (
    SuggestedPrompt(
        title="Seed-stage SaaS founders",
        message="Find 20 founders of seed-stage B2B SaaS companies in Austin, with their "
        "LinkedIn and company website.",
    ),
    SuggestedPrompt(
        title="VPs of Sales who just raised",
        message="Find 25 VPs of Sales at US fintech companies that raised a Series A or B "
        "in the last 6 months.",
    ),
    SuggestedPrompt(
        title="Heads of Ops at logistics firms",
        message="Find 30 Heads of Operations at logistics companies in Germany with 50 to "
        "500 employees, and qualify them on whether they are hiring.",
    ),
    SuggestedPrompt(
        title="Lookalikes of a customer",
        message="Find 20 companies like Ramp: Series B+ spend-management startups in North "
        "America, with the CFO of each.",
    ),
)


class AgentSurface(Protocol):
    """Slack's agent platform: sessions, the thread status, the Messages tab."""

    async def set_session(
        self,
        thread: ThreadRef,
        status: SessionStatus,
        *,
        title: str | None = None,
        initiator: str | None = None,
    ) -> Shown:
        """``title`` and ``initiator`` only when the call creates the session."""

    async def set_status(self, thread: ThreadRef, progress: Progress) -> Shown:
        """The thread's loading status, showing ``progress``. What Slack shows already
        (the same text, set lately) may be left as it is: ``SHOWN`` without a call."""

    async def show_stop_button(self, thread: ThreadRef, message_ts: str, run_id: str) -> None:
        """Where Slack's own Stop is refused: the "On it" message gets our Stop button."""

    async def say_stopped(self, thread: ThreadRef, user_id: str) -> None:
        """Slack's Stop was pressed: say in the thread who stopped the run."""

    async def suggest_prompts(
        self, team: str, channel: str, title: str, prompts: Sequence[SuggestedPrompt]
    ) -> Shown: ...

    async def onboard(self, team: str, channel: str, user_id: str) -> None:
        """The Messages tab's short onboarding, posted in the person's DM with the app."""
