"""What the watcher's findings mean for a conversation: the port the watcher calls.

The watcher knows the schedule and Origami's polls; this says what to do with what it
finds: a kept prompt is sent, a running run shows its progress, a finished one is
delivered and its thread goes on with what was queued, a lost one is reported.
"""

from __future__ import annotations

import asyncio
import logging
import time

from bot import logs
from bot.conversations.intake import Intake
from bot.credits import CreditWatch
from bot.delivery import Delivery
from bot.domain import Busy, BusyKind, GiveUp, KeptPrompt, Progress, RunRecord
from bot.enrichment import EnrichmentFollower
from bot.live_status import LiveStatus
from bot.origami.models import Run
from bot.ports import Presenter
from bot.previews import LeadPreview, LeadPreviews
from bot.problems import Problem, ProblemKind, report
from bot.sending import Sender
from bot.stores import Stores
from bot.stores.schedule import Claimed
from bot.summaries import Summary, failed, summary_of_run

log = logging.getLogger(__name__)

# How long a delivery waits for its lead previews (the rows take a poll's share of the
# request budget, which may be used up for a while): past it, the cards go without them.
# Well inside the delivery's 120 s lease.
PREVIEW_WAIT_S = 20.0


class RunEvents:
    def __init__(
        self,
        stores: Stores,
        sender: Sender,
        delivery: Delivery,
        presenter: Presenter,
        intake: Intake,
        live: LiveStatus,
        previews: LeadPreviews | None = None,
        credits: CreditWatch | None = None,
        enrichment: EnrichmentFollower | None = None,
    ) -> None:
        self.stores = stores
        self.sender = sender
        self.delivery = delivery
        self.presenter = presenter
        self.intake = intake
        self.live = live
        self.previews = previews
        self.credits = credits
        self.enrichment = enrichment

    async def send(self, kept: KeptPrompt, *, admitted: bool) -> float | None:
        return await self.sender.send(kept, admitted=admitted)

    async def progress(self, record: RunRecord, run: Run, *, flagged: bool) -> None:
        elapsed_s = time.time() - record.started_at
        queued = await self.stores.threads.queue_length(record.thread)
        await self.live.progress(
            record,
            Progress(
                run_id=run.id,
                steps_completed=run.steps.completed,
                steps_max=run.steps.max,
                elapsed_s=elapsed_s,
                leads_found=_leads_found(run),
                queued=queued,
            ),
            flagged=flagged,
        )

    async def finished(self, record: RunRecord, run: Run) -> None:
        """Post the run's result once (and follow its tables still being enriched), then
        send what was waiting for it."""
        with logs.context(agent=record.agent_id, run=record.run_id, channel=record.channel):
            delivered = await self.delivery.deliver(
                record, run, await self._previews(record.team, run)
            )
            if self.enrichment is not None:
                await self.enrichment.follow(record, run, delivered)
            await self.live.ended(record)
            await self._release(record, summary_of_run(run))
            if self.credits is not None:
                await self.credits.after_run(record.thread)

    async def _previews(self, team: str, run: Run) -> dict[str, LeadPreview]:
        if self.previews is None:
            return {}
        try:
            async with asyncio.timeout(PREVIEW_WAIT_S):
                return await self.previews.read(team, run)
        except TimeoutError:
            log.warning("no lead previews: the request budget stayed used up")
            return {}

    async def give_up(self, item: Claimed, why: GiveUp) -> None:
        """The watcher stopped handling a run or a kept prompt: tell the thread, with a
        Retry button for a run, and let the thread go on."""
        kind = ProblemKind.RUN_TOO_OLD if why is GiveUp.TOO_OLD else ProblemKind.RUN_FAILING
        if item.run is not None:
            record = item.run
            problem = Problem(kind, retry_run=record.run_id)
            await self.presenter.problem(record.thread, problem, record.progress_ts or None)
            await self.live.ended(record)
            await self._release(record, failed())
        elif item.kept is not None:
            await self.sender.give_up(item.kept, Problem(ProblemKind.INTERNAL))

    async def lost(self, record: RunRecord, exc: BaseException) -> None:
        """The run can no longer be polled (its agent or run is gone in Origami): the
        conversation is over, and so is its session."""
        await report(self.presenter, record.thread, exc, record.progress_ts, agent_call=True)
        await self.live.closed(record.thread)
        await self._release(record, failed())

    async def _release(self, record: RunRecord, summary: Summary) -> None:
        busy = Busy(BusyKind.RUN, record.run_id)
        released = await self.stores.threads.release(record.thread, busy, summary=summary)
        await self.intake.resumed(record.thread, released)


def _leads_found(run: Run) -> int | None:
    if run.response is None:
        return None
    added = [a.lead_count for a in run.response.actions if a.type == "leads_added" and a.lead_count]
    return sum(added) if added else None
