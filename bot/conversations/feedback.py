"""Feedback on a result: a click on Slack's feedback buttons, recorded once per person and
result, thanked privately, logged with the run and agent, and counted."""

from __future__ import annotations

import logging

from bot import logs
from bot.conversations.buttons import run_here
from bot.domain import Note, ThreadRef, Verdict
from bot.metrics import Metrics
from bot.ports import Presenter
from bot.stores import Stores

log = logging.getLogger(__name__)


class Feedback:
    def __init__(self, stores: Stores, presenter: Presenter, metrics: Metrics) -> None:
        self.stores = stores
        self.presenter = presenter
        self.metrics = metrics

    async def give(self, thread: ThreadRef, run_id: str, user_id: str, verdict: Verdict) -> None:
        """``user_id`` found the result of ``run_id`` good or bad. A value naming another
        thread's run does nothing; a second click by the same person is not counted."""
        record = await run_here(self.stores, self.presenter, thread, run_id, user_id)
        if record is None:
            return
        first = await self.stores.feedback.record(thread.team, run_id, user_id, verdict)
        if not first:
            await self.presenter.note(thread, user_id, Note.FEEDBACK_GIVEN)
            return
        self.metrics.feedback_clicks.labels(verdict.value).inc()
        with logs.context(agent=record.agent_id, run=run_id, channel=thread.channel):
            log.info("feedback given", extra={"verdict": verdict.value, "user": user_id})
        thanks = Note.THANKS_GOOD if verdict is Verdict.GOOD else Note.THANKS_BAD
        await self.presenter.note(thread, user_id, thanks)
