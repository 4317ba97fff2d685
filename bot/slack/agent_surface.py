"""The ``AgentSurface`` port on Slack: agent sessions, the thread's loading status, the
Messages tab's suggested prompts and onboarding.

A call Slack refuses for the whole workspace (the method unknown to it, a scope not
granted, an app not declared as an agent) reads as ``Shown.REFUSED``, so the caller
records it once for the workspace and uses the fallback; any other failure is
``Shown.FAILED`` and costs nothing but this one update. Nothing here raises for a
refusal: these are cosmetic, and the run goes on either way.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Sequence

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.agent_platform import SessionStatus, Shown, SuggestedPrompt, status_window
from bot.domain import Progress, ThreadRef
from bot.slack import agent_texts
from bot.slack.blocks.agent import build_onboarding, build_stopped_by, build_working
from bot.slack.messages import SlackMessages, slack_error
from bot.tenancy.slack import SlackFor, WorkspaceGone

log = logging.getLogger(__name__)

# Slack's answers that mean "not in this workspace", whichever thread asks: the method
# is unknown here, the token lacks its scope, or the app is not declared as an agent.
REFUSALS = frozenset(
    {
        "unknown_method",
        "missing_scope",
        "not_allowed_token_type",
        "not_allowed",
        "access_denied",
        "no_permission",
        "feature_not_enabled",
        "team_access_not_granted",
        "method_deprecated",
    }
)


# Runs whose last status a process keeps: more than it has in flight.
_STATUSES_KEPT = 10_000


def classify(exc: SlackApiError) -> Shown:
    return Shown.REFUSED if slack_error(exc) in REFUSALS else Shown.FAILED


class SlackAgentSurface:
    def __init__(self, clients: AsyncWebClient | SlackFor) -> None:
        # One client (one workspace), or the lookup of each workspace's installation.
        self.slack = SlackMessages(clients)
        # The status this process last set for each run, and in which window of the run's
        # life. Kept in the process, not in Redis: a run polled by another process now and
        # then costs that process one call, not every poll a round trip.
        self._statuses: dict[tuple[str, str, str, str], tuple[tuple[str, ...], int]] = {}

    async def set_session(
        self,
        thread: ThreadRef,
        status: SessionStatus,
        *,
        title: str | None = None,
        initiator: str | None = None,
    ) -> Shown:
        client = await self._client(thread)
        if client is None:
            return Shown.FAILED
        return await self._call(
            "agents.sessions.setStatus",
            client.agents_sessions_setStatus(
                channel_id=thread.channel,
                thread_ts=thread.thread_ts,
                status=status.value,
                title=title,
                initiator_user_id=initiator,
            ),
        )

    async def set_status(self, thread: ThreadRef, progress: Progress) -> Shown:
        """Set the status, unless this process set the same text for the same run in the
        same 90 s window of the run's life (``bot.agent_platform.status_window``): Slack
        still shows it. The first poll of each window always sets it, which keeps it from
        running out (Slack clears a status 2 minutes after it was set)."""
        loading = tuple(agent_texts.loading_messages(progress))
        key = (thread.team, thread.channel, thread.thread_ts, progress.run_id)
        window = status_window(progress.elapsed_s)
        if self._statuses.get(key) == (loading, window):
            return Shown.SHOWN
        client = await self._client(thread)
        if client is None:
            return Shown.FAILED
        shown = await self._call(
            "assistant.threads.setStatus",
            client.assistant_threads_setStatus(
                channel_id=thread.channel,
                thread_ts=thread.thread_ts,
                status=agent_texts.STATUS_WORKING,
                loading_messages=list(loading),
            ),
        )
        if shown is Shown.SHOWN:
            if len(self._statuses) >= _STATUSES_KEPT:
                self._statuses.clear()  # a miss costs one call
            self._statuses[key] = (loading, window)
        else:
            self._statuses.pop(key, None)
        return shown

    async def show_stop_button(self, thread: ThreadRef, message_ts: str, run_id: str) -> None:
        await self.slack.update(thread, message_ts, build_working(run_id))

    async def say_stopped(self, thread: ThreadRef, user_id: str) -> None:
        await self.slack.post(thread, build_stopped_by(user_id))

    async def suggest_prompts(
        self, team: str, channel: str, title: str, prompts: Sequence[SuggestedPrompt]
    ) -> Shown:
        # Under agent_view the prompts belong to the Messages tab, not to a thread: with
        # a thread_ts the call is accepted and silently does nothing.
        client = await self.slack.clients.for_team(team)
        return await self._call(
            "assistant.threads.setSuggestedPrompts",
            client.assistant_threads_setSuggestedPrompts(
                channel_id=channel,
                title=title,
                prompts=[{"title": p.title, "message": p.message} for p in prompts],
            ),
        )

    async def onboard(self, team: str, channel: str, user_id: str) -> None:
        message = build_onboarding(user_id)
        client = await self.slack.clients.for_team(team)
        await client.chat_postMessage(channel=channel, text=message.text, blocks=message.blocks)

    async def _client(self, thread: ThreadRef) -> AsyncWebClient | None:
        """The workspace's client; None once it is uninstalled (a run in flight that
        outlived its workspace shows nothing more: said once, in a line, not a traceback)."""
        try:
            return await self.slack.client(thread)
        except WorkspaceGone:
            log.info("the workspace is uninstalled: nothing shown")
            return None

    async def _call(self, method: str, call: Awaitable[AsyncSlackResponse]) -> Shown:
        try:
            response = await call
        except SlackApiError as exc:
            shown = classify(exc)
            log.warning(
                "agent platform call failed",
                extra={"method": method, "error": slack_error(exc), "shown": shown.value},
            )
            return shown
        warning = response.get("warning")
        if warning:
            # e.g. missing_agent_session_stopped_event_subscription: Slack's Stop would
            # reach no one. Said in the log; the manifest subscribes to the event.
            log.warning("agent platform warning", extra={"method": method, "warning": warning})
        return Shown.SHOWN
