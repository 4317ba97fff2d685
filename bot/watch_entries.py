"""What the watcher does with one claimed entry, and what it hands its findings to.

A kept prompt is sent; a run is polled, and delivered once it ended; an entry that cannot
be handled is given up after a few tries. Each finding goes to the ``WatchPort``
(``bot.run_events.RunEvents`` in the app), which knows what it means for a conversation.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass
from typing import Protocol

from bot import logs
from bot.domain import BusyKind, GiveUp, KeptPrompt, RunRecord
from bot.live_status import should_show
from bot.metrics import Metrics
from bot.origami import errors
from bot.origami.models import Run
from bot.stores.budget import now_ms
from bot.stores.schedule import Claim, Claimed, RunSchedule
from bot.tenancy.origami import OrigamiFor
from bot.tenancy.slack import WorkspaceGone

log = logging.getLogger(__name__)

# A claimed entry's outcome: the lease it is held under, and its next due time (epoch ms)
# or None when it leaves the schedule.
Outcome = tuple[Claim, int | None]


class WatchPort(Protocol):
    """What the watcher hands on (``bot.run_events.RunEvents``)."""

    async def send(self, kept: KeptPrompt, *, admitted: bool) -> float | None:
        """Send a kept prompt; seconds until its next try, or None when it is settled."""

    async def give_up(self, item: Claimed, why: GiveUp) -> None:
        """Stop handling an entry that cannot be handled; say so in its thread."""

    async def progress(self, record: RunRecord, run: Run, *, flagged: bool) -> None:
        """A running run's progress. ``flagged``: this poll has a slot of Slack's
        progress-update allowance; an unflagged one only refreshes a thread status that
        would expire (``bot.live_status.should_show``)."""

    async def finished(self, record: RunRecord, run: Run) -> None: ...

    async def lost(self, record: RunRecord, exc: BaseException) -> None: ...


@dataclass(frozen=True, slots=True)
class WatcherConfig:
    # Longer than one poll takes (Origami's timeout is 20 s), so a live process keeps the
    # runs it polls; also the bound on how long a dead process's runs wait for another.
    lease_s: float = 30.0
    # A kept prompt is held longer: its send may take the Origami client's whole retry
    # budget (``SendConfig.hold_s``).
    kept_lease_s: float = 90.0
    # Delivery can take several Slack calls and their 429 waits: the lease is extended.
    delivery_lease_s: float = 120.0
    # Most runs one claim takes, and most runs this process handles at once.
    batch: int = 200
    in_flight: int = 1000
    # Origami GETs at once. Few connections serve many polls (each takes milliseconds), and
    # httpcore scans its whole pool on every request: a small pool is a fast one.
    concurrency: int = 16
    # How long an idle loop sleeps before looking again; also how fast a new run that is
    # already due gets noticed by a process other than the one that scheduled it.
    idle_s: float = 0.25
    # Used when a running run comes back without Retry-After (the API says 15).
    default_interval_s: float = 15.0
    # Retry delay after a failed poll (Origami down or rate limited).
    error_backoff_s: float = 15.0
    # An entry whose handling fails this many times in a row (a run Origami answers in a
    # way this app cannot handle, a bug) is given up, with a message in its thread, rather
    # than tried every ``error_backoff_s`` for as long as its records live.
    max_failures: int = 5
    # No run is watched longer than this, whatever Origami says (its runs stop at 20
    # minutes of wall clock; a run still "running" after 2 hours will not finish).
    max_run_age_s: float = 2 * 3600.0
    # Progress updates a minute, all processes together (-1: no limit). ``chat.update`` is
    # Slack's Tier 3 (about 50 a minute per workspace) and results, answers and choices
    # need it too: with many runs in flight, each run's progress is updated less often
    # rather than Slack answering 429 to everyone.
    progress_per_minute: int = -1
    # A progress update is cosmetic: it never holds a poll (and the run's lease) longer.
    progress_timeout_s: float = 5.0
    # Deliveries under way at once. When many runs end together, a few at a time finish
    # each one sooner than all at once (which also starves the polls of the event loop).
    # Side by side at K=1000 (bench/, watcher capacity), 4 against 8: the last poll of
    # each run late by p95 28-81 ms against 91-423 ms, the burst's delivery p95 the same
    # (2.07-2.22 s against 1.95-2.37 s: the CPU, not the slots, bounds it).
    deliveries: int = 4
    # How long finished polls wait to be settled together (fewer, larger settle calls).
    settle_delay_s: float = 0.005
    # At a stop, how long the polls under way may take to finish; those still going are
    # then cancelled (their leases lapse and another process polls them) rather than left
    # running into the clients the process closes next.
    drain_s: float = 10.0
    # Least time between two claims: runs due within it are claimed together (polled at
    # most this late) instead of one claim each when hundreds come due every second.
    claim_gap_s: float = 0.005


class EntryWork:
    """What the watcher does with one claimed entry: send a kept prompt, or poll a run
    (and deliver it once it ended); what it finds goes to the port."""

    def __init__(
        self,
        schedule: RunSchedule,
        origami: OrigamiFor,
        port: WatchPort,
        config: WatcherConfig,
        metrics: Metrics | None = None,
    ) -> None:
        self.metrics = metrics if metrics is not None else Metrics()
        self.schedule = schedule
        self.origami = origami
        self.port = port
        self.config = config
        self._limit = asyncio.Semaphore(config.concurrency)
        self._delivering = asyncio.Semaphore(config.deliveries)
        self.polls = 0

    async def do(self, item: Claimed) -> Outcome:
        """The lease the entry is held under now and its next due time (epoch ms), or None
        when it is done: what the watcher's next settle writes."""
        if item.claim.kind is BusyKind.PROMPT:
            return item.claim, await self._send(item)
        return await self._handle(item)

    async def after_failure(self, item: Claimed, claim: Claim | None = None) -> int | None:
        """Handling ``item`` raised: try again after a back-off, or give it up after
        ``max_failures`` in a row. ``claim``: the lease it is held under now, if extended.
        Never raises (a Redis outage: try again after the back-off)."""
        try:
            if await self.schedule.failed(claim or item.claim) >= self.config.max_failures:
                await self.port.give_up(item, GiveUp.FAILING)
                return None
        except Exception:
            log.exception("could not give up a failing entry; will retry")
        return now_ms() + _jittered(self.config.error_backoff_s)

    async def _handle(self, item: Claimed) -> Outcome:
        """Poll one run; the epoch ms of its next poll, or None when it is done."""
        claim, record = item.claim, item.run
        if record is None:
            # Its record expired (or was never written): nothing to poll or post.
            log.warning("scheduled run has no record", extra={"run": claim.id})
            return claim, None
        logs.bind(
            team=record.team,
            channel=record.channel,
            thread=record.thread_ts,
            agent=record.agent_id,
            run=record.run_id,
        )
        if time.time() - record.started_at > self.config.max_run_age_s:
            log.warning("run watched past its maximum age; given up")
            await self.port.give_up(item, GiveUp.TOO_OLD)
            return claim, None
        self.polls += 1
        self.metrics.polls.inc()
        try:
            async with self._limit:
                origami = await self.origami.for_team(record.team)
                poll = await origami.get_run(record.agent_id, record.run_id, admitted=item.admitted)
        except (errors.NotFound, errors.NotConnected) as exc:
            # Gone, or no key to ask with any more (an admin removed it): said once.
            await self.port.lost(record, exc)
            return claim, None
        except (errors.OrigamiUnreachable, errors.ServerError, errors.RateLimited) as exc:
            log.warning("poll failed; will retry", extra={"error": type(exc).__name__})
            return claim, now_ms() + _jittered(self.config.error_backoff_s)
        # The interval runs from Origami's answer, not from the end of the progress
        # update below: a slow Slack must not stretch the poll interval.
        answered_ms = now_ms()
        run = poll.run
        if not run.status.is_terminal:
            interval = poll.retry_after
            if interval is None:
                interval = self.config.default_interval_s
            elapsed_s = time.time() - record.started_at
            flagged = item.show_progress
            if should_show(flagged=flagged, elapsed_s=elapsed_s, interval_s=interval):
                try:
                    await asyncio.wait_for(
                        self.port.progress(record, run, flagged=flagged),
                        self.config.progress_timeout_s,
                    )
                except WorkspaceGone:
                    # Uninstalled between the poll and its update: the uninstall stops the
                    # watch; until then there is nothing to show, and nothing went wrong.
                    log.info("the workspace is uninstalled: no progress shown")
                except Exception:
                    # Progress is cosmetic; a Slack hiccup must not stop the watch.
                    log.warning("progress update failed", exc_info=True)
            return claim, answered_ms + int(interval * 1000)
        return await self._deliver(item, record, run)

    async def _deliver(self, item: Claimed, record: RunRecord, run: Run) -> Outcome:
        seen = time.monotonic()  # the run's end: delivery latency runs from here
        # Delivery may take several Slack calls (and their 429 retries): hold the run.
        extended = await self.schedule.extend_lease(item.claim, self.config.delivery_lease_s)
        if extended is None:
            log.warning("lease lost before delivery; another process has the run")
            return item.claim, None  # settles nothing: the lease is another's
        try:
            async with self._delivering:
                await self.port.finished(record, run)
        except WorkspaceGone:
            # Uninstalled since the run started (its state is being forgotten, the
            # watch with it): a line, not a traceback; retried like any failure until
            # the run is out of the schedule, should the workspace still be there.
            log.info("the workspace is uninstalled: the result is not posted")
            self.metrics.deliveries.labels("failed").inc()
            return extended, await self.after_failure(item, extended)
        except Exception:
            # Not lost: retried soon (parts already posted are skipped), under the
            # extended lease, which is what the schedule now holds.
            log.exception("delivery failed; will retry")
            self.metrics.deliveries.labels("failed").inc()
            return extended, await self.after_failure(item, extended)
        self.metrics.delivered(time.monotonic() - seen)
        # Settled with the other outcomes of the moment, not in a call of its own.
        return extended, None

    async def _send(self, item: Claimed) -> int | None:
        # The claim read the kept prompt right after taking its entry: None means it is
        # gone (sent by a worker whose lease ran out, or expired).
        if item.kept is None:
            return None
        retry_in = await self.port.send(item.kept, admitted=item.admitted)
        return None if retry_in is None else now_ms() + int(retry_in * 1000)


def _jittered(seconds: float) -> int:
    return int(seconds * 1000 * random.uniform(0.8, 1.2))
