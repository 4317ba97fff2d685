"""The worker's poller of scheduled runs: each schedule made from Slack has its runs read
(``GET /scheduled-agents/{id}/runs``) every ``pace_s``, at a poll's priority under its
workspace's key and its organisation's request budget, and each run not yet posted gets a
new thread in the schedule's channel, bound to the run's agent and watched like any run.

Each schedule is read by one process at a time (the due set's claim), and each run is
posted once across processes and restarts (``ScheduleStore.take_run``: a lease and a
record that resumes where a process died). From the thread on, the run takes the path of
any run: the watcher polls it, the delivery posts its result, and replies continue it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from slack_sdk.errors import SlackApiError

from bot import logs
from bot.delivery import Delivery, ack_owner
from bot.domain import RunRecord, ThreadRef
from bot.live_status import LiveStatus
from bot.metrics import Metrics
from bot.origami import errors
from bot.origami.scheduled import ScheduledRun
from bot.ports import Presenter
from bot.schedules.manage import SchedulePosts
from bot.schedules.records import ScheduleRecord
from bot.stores import Stores, keys
from bot.tenancy.origami import OrigamiFor

log = logging.getLogger(__name__)

# A post's ts is Slack's clock, its intent ours: look a little earlier than the intent.
_CLOCK_SKEW_S = 30.0
# How far Origami's clock may be behind ours when a run is compared with its schedule's
# record (kept just after Origami made the schedule).
_ORIGAMI_SKEW_S = 600.0
# A run is posted only while its "done" marker would still be there to say it was: a
# run's marker lasts ``SCHEDULED_RUN_TTL``, and the history read holds the newest 20 runs
# (20 weeks of a weekly schedule), so an older run, its marker gone, would get a second
# thread. Two days short of the TTL: whatever clocks and a slow first post take.
HORIZON_S = keys.seconds(keys.SCHEDULED_RUN_TTL) - 2 * 86_400


@dataclass(frozen=True, slots=True)
class PollerConfig:
    pace_s: float = 120.0  # how often each schedule's runs are read
    batch: int = 20  # schedules read per tick, at most
    # Longer than posting a thread and its first message takes, retries included.
    lease_s: float = 60.0
    first_poll_s: float = 3.0  # the run's first poll by the watcher


class ScheduledRunPoller:
    def __init__(
        self,
        stores: Stores,
        origami: OrigamiFor,
        posts: SchedulePosts,
        delivery: Delivery,
        presenter: Presenter,
        live: LiveStatus,
        config: PollerConfig | None = None,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        self.metrics = metrics if metrics is not None else Metrics()
        self.origami = origami
        self.stores = stores
        self.posts = posts
        self.delivery = delivery
        self.presenter = presenter
        self.live = live
        self.config = config or PollerConfig()
        self._window_s = self.config.lease_s + _CLOCK_SKEW_S
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run_forever(self) -> None:
        """Read what is due, then sleep a little (never ends by itself: a failure is
        logged and the next tick tries again)."""
        tick_s = min(self.config.pace_s, 5.0)
        while not self._stopping.is_set():
            try:
                await self.tick()
            except Exception:
                log.exception("reading scheduled runs failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), tick_s)

    async def tick(self) -> int:
        """Read the runs of every schedule due now; how many schedules were read."""
        due = await self.stores.schedules.claim_due(self.config.pace_s, self.config.batch)
        for team, schedule_id in due:
            with logs.context(team=team, schedule=schedule_id):
                await self.read(team, schedule_id)
        return len(due)

    async def read(self, team: str, schedule_id: str) -> None:
        record = await self.stores.schedules.get(team, schedule_id)
        if record is None:
            await self.stores.schedules.remove(team, schedule_id)
            return
        try:
            client = await self.origami.for_team(team)
            runs = await client.scheduled_runs(schedule_id)
        except errors.NotConnected:
            return  # read again at the pace, once the workspace connects a key
        except errors.NotFound:
            log.info("a schedule is gone from Origami; forgotten")
            await self.stores.schedules.remove(team, schedule_id)
            return
        except errors.OrigamiError as exc:
            log.warning("could not read a schedule's runs", extra={"error": type(exc).__name__})
            return
        runs = [r for r in runs if self._may_be_ours(record, r)]
        if not runs:
            return
        done = await self.stores.schedules.done_runs(team, [r.run_id for r in runs])
        for run in reversed(runs):  # oldest first: threads in the order the runs came
            if run.run_id not in done:
                await self.post(record, run)

    def _may_be_ours(self, record: ScheduleRecord, run: ScheduledRun) -> bool:
        """Whether a run is one to post: made since the app kept its schedule (one made
        before cannot be ours to post), and within the horizon (see ``HORIZON_S``). A run
        that does not say when it was made is taken on its marker alone."""
        if run.created_at is None:
            return True
        made = datetime.fromisoformat(run.created_at.replace("Z", "+00:00")).timestamp()
        if made < record.created_at - _ORIGAMI_SKEW_S:
            return False
        return made >= self._clock() - HORIZON_S

    async def post(self, record: ScheduleRecord, run: ScheduledRun) -> None:
        """Open the run's thread and watch the run, once (see the module's doc)."""
        team = record.team
        claim = await self.stores.schedules.take_run(team, run.run_id, self.config.lease_s)
        if claim is None:
            return
        with logs.context(run=run.run_id, agent=run.agent_id, channel=record.channel):
            try:
                opener = claim.opener_ts
                if not opener and claim.intent_ms:
                    # An opener, if one was posted, was posted within the lease after
                    # the intent (Slack's clock, ours: a little either side).
                    intent_s = claim.intent_ms / 1000
                    since, until = intent_s - _CLOCK_SKEW_S, intent_s + self._window_s
                    opener = await self.posts.find_run_thread(record, run.run_id, since, until)
                if not opener:
                    await self.stores.schedules.intend_opener(team, run.run_id)
                    opener = await self.posts.open_run_thread(record, run.run_id) or ""
                if not opener:
                    # The app may not post there (not invited): kept, tried at the pace.
                    # Slack refused the post, so none was made: the intent goes, and the
                    # next try posts without searching a channel it cannot read.
                    await self.stores.schedules.let_go(team, run.run_id, posted=False)
                    if await self.stores.schedules.first_closed(team, record.schedule_id):
                        await self.posts.runs_waiting(record)
                    return
                if opener != claim.opener_ts:
                    await self.stores.schedules.opened(team, run.run_id, opener)
                    await self.stores.schedules.reopened(team, record.schedule_id)
                await self._watch(record, run, opener)
            except SlackApiError as exc:
                # Slack's refusal (the app removed from the channel meanwhile, a limit):
                # what it said is enough; tried again at the pace.
                error = exc.response.get("error") if exc.response is not None else None
                log.warning("Slack refused a scheduled run's post", extra={"error": error})
                await self.stores.schedules.let_go(team, run.run_id)
                return
            except Exception:
                log.exception("could not post a scheduled run; trying again later")
                await self.stores.schedules.let_go(team, run.run_id)
                return
        self.metrics.scheduled_runs_posted.inc()
        log.info("scheduled run posted", extra={"run": run.run_id})

    async def _watch(self, record: ScheduleRecord, run: ScheduledRun, opener: str) -> None:
        thread = ThreadRef(record.team, record.channel, opener)
        # The run's "On it" line, under the top message: posted once, as any prompt's.
        posted = await self.delivery.post_once(
            thread, ack_owner(f"scheduled-{run.run_id}"), [self.presenter.acknowledgement()]
        )
        watched = RunRecord(
            team=record.team,
            run_id=run.run_id,
            agent_id=run.agent_id,
            channel=record.channel,
            thread_ts=opener,
            progress_ts=next(iter(posted.ts.values())),
            user_id=record.creator,
            prompt=record.prompt,
        )
        await self.stores.runs.adopt(watched, first_poll_s=self.config.first_poll_s)
        await self.live.started(watched, new_conversation=True)
