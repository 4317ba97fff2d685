"""An AgentSurface that records what the use cases asked of Slack's agent platform, for
tests without Slack. By default Slack refuses sessions and the status, as in a workspace
where the app is not an agent: runs then show today's progress line and Stop button."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.agent_platform import AgentFeature, SessionStatus, Shown, SuggestedPrompt
from bot.domain import Progress, ThreadRef


@dataclass
class Asked:
    what: str
    data: dict[str, Any] = field(default_factory=dict)


class RecordingAgentSurface:
    def __init__(self, allowed: frozenset[AgentFeature] = frozenset()) -> None:
        self.allowed = allowed
        self.asked: list[Asked] = []

    def of(self, what: str) -> list[Asked]:
        return [a for a in self.asked if a.what == what]

    def _answer(self, feature: AgentFeature) -> Shown:
        return Shown.SHOWN if feature in self.allowed else Shown.REFUSED

    async def set_session(
        self,
        thread: ThreadRef,
        status: SessionStatus,
        *,
        title: str | None = None,
        initiator: str | None = None,
    ) -> Shown:
        self.asked.append(Asked("session", {"thread": thread, "status": status, "title": title}))
        return self._answer(AgentFeature.SESSIONS)

    async def set_status(self, thread: ThreadRef, progress: Progress) -> Shown:
        self.asked.append(Asked("status", {"thread": thread, "progress": progress}))
        return self._answer(AgentFeature.STATUS)

    async def show_stop_button(self, thread: ThreadRef, message_ts: str, run_id: str) -> None:
        self.asked.append(Asked("stop_button", {"thread": thread, "run_id": run_id}))

    async def say_stopped(self, thread: ThreadRef, user_id: str) -> None:
        self.asked.append(Asked("stopped", {"thread": thread, "user_id": user_id}))

    async def suggest_prompts(
        self, team: str, channel: str, title: str, prompts: Sequence[SuggestedPrompt]
    ) -> Shown:
        self.asked.append(Asked("prompts", {"channel": channel, "prompts": list(prompts)}))
        return Shown.SHOWN

    async def onboard(self, team: str, channel: str, user_id: str) -> None:
        self.asked.append(Asked("onboard", {"channel": channel, "user_id": user_id}))
