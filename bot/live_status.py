"""What a thread shows while its run works: Slack's agent session (with Slack's own Stop)
and its loading status, or, where a workspace refuses them, today's progress line and
Stop button. One indicator a run: the progress line is updated only where the status
cannot be shown.

Whether a workspace refuses a feature is learnt from Slack's answer once and kept in
``WorkspaceStore`` (a day), so later runs there go straight to the fallback. Everything
here is cosmetic: a failure is logged, never raised, and never holds a poll.
"""

from __future__ import annotations

import asyncio
import logging

from bot.agent_platform import (
    SESSION_TITLE_MAX,
    AgentFeature,
    AgentSurface,
    SessionStatus,
    Shown,
    status_window,
)
from bot.domain import Progress, RunRecord, ThreadRef
from bot.metrics import Metrics
from bot.ports import Presenter
from bot.stores import Stores

log = logging.getLogger(__name__)


# Sessions and statuses are cosmetic: slack_sdk's retries of a 429 must not hold a send or
# a delivery (and its lease) longer than this.
COSMETIC_TIMEOUT_S = 5.0


def should_show(*, flagged: bool, elapsed_s: float, interval_s: float) -> bool:
    """Whether this poll updates the run's progress: when the allowance flagged it, or when
    its status would otherwise expire (the poll before it, ``interval_s`` earlier, was in
    an earlier 90 s window). Decided from the run's age alone: no state to keep."""
    if flagged:
        return True
    return status_window(elapsed_s) != status_window(elapsed_s - interval_s)


def session_title(prompt: str) -> str:
    """The session's title: the prompt's first line, clipped to Slack's 200 characters."""
    lines = prompt.strip().splitlines()
    first = " ".join(lines[0].split()) if lines else ""
    if not first:
        return "Origami"
    return first if len(first) <= SESSION_TITLE_MAX else first[: SESSION_TITLE_MAX - 1] + "…"


class LiveStatus:
    def __init__(
        self,
        stores: Stores,
        surface: AgentSurface,
        presenter: Presenter,
        metrics: Metrics | None = None,
    ) -> None:
        self.stores = stores
        self.surface = surface
        self.presenter = presenter
        self.metrics = metrics if metrics is not None else Metrics()

    async def started(self, record: RunRecord, *, new_conversation: bool) -> None:
        """A run is in flight: its session is processing (created with a title from the
        prompt for a new conversation). Where Slack's Stop is refused, the "On it" message
        gets our Stop button instead."""
        try:
            async with asyncio.timeout(COSMETIC_TIMEOUT_S):
                await self._start(record, new_conversation=new_conversation)
        except Exception:
            log.warning("could not show that the run started", exc_info=True)

    async def _start(self, record: RunRecord, *, new_conversation: bool) -> None:
        refused = await self.stores.workspaces.refused(record.team)
        sessions = AgentFeature.SESSIONS not in refused and await self._session(
            record.thread,
            SessionStatus.PROCESSING,
            title=session_title(record.prompt) if new_conversation else None,
            initiator=record.user_id if new_conversation else None,
        )
        if not sessions:
            await self.surface.show_stop_button(record.thread, record.progress_ts, record.run_id)
        # No status yet: the "On it" message just posted says the same, and the first
        # poll sets the status (and learns a refusal of it) a few seconds later.

    async def progress(self, record: RunRecord, progress: Progress, *, flagged: bool) -> None:
        """A poll that shows progress (``should_show``). The status is set; the progress
        line is updated only where the status could not be set, and only when the
        allowance flagged this poll (``chat.update`` is Tier 3)."""
        refused = await self.stores.workspaces.refused(record.team)
        if (
            AgentFeature.STATUS not in refused
            and await self._status(record.thread, progress) is Shown.SHOWN
        ):
            return
        if flagged:
            await self.presenter.progress(record.thread, record.progress_ts, progress)

    async def ended(self, record: RunRecord) -> None:
        """The run ended and the conversation goes on: the session is active again."""
        await self._quietly(record.thread, SessionStatus.ACTIVE)

    async def closed(self, thread: ThreadRef) -> None:
        """The conversation is over (its agent is gone): the session is closed."""
        await self._quietly(thread, SessionStatus.CLOSED)

    async def _quietly(self, thread: ThreadRef, status: SessionStatus) -> None:
        try:
            async with asyncio.timeout(COSMETIC_TIMEOUT_S):
                if AgentFeature.SESSIONS not in await self.stores.workspaces.refused(thread.team):
                    await self._session(thread, status)
        except Exception:
            log.warning("could not set the agent session", exc_info=True)

    async def _session(
        self,
        thread: ThreadRef,
        status: SessionStatus,
        *,
        title: str | None = None,
        initiator: str | None = None,
    ) -> bool:
        """Whether the session shows ``status``; a refusal is recorded for the workspace."""
        shown = await self.surface.set_session(thread, status, title=title, initiator=initiator)
        if shown is Shown.REFUSED:
            await self._refuse(thread.team, AgentFeature.SESSIONS)
        return shown is Shown.SHOWN

    async def _status(self, thread: ThreadRef, progress: Progress) -> Shown:
        shown = await self.surface.set_status(thread, progress)
        if shown is Shown.REFUSED:
            await self._refuse(thread.team, AgentFeature.STATUS)
        return shown

    async def _refuse(self, team: str, feature: AgentFeature) -> None:
        log.warning(
            "workspace refuses an agent feature; using its fallback",
            extra={"feature": feature.value},
        )
        await self.stores.workspaces.refuse(team, feature, "refused")
        self.metrics.agent_refusals.labels(feature.value).inc()
