"""The watcher: sends every kept prompt and polls every run in flight until it ends.

Both live in the run schedule (``bot.stores.schedule``): a sorted set scored by when each
entry is next due. Every worker runs a watcher. Its loop claims what is due (one Lua call
that also moves it to the end of a lease, then one read of the records), starts a send or
a poll for each without waiting for the others, and sleeps until the next entry is due.
What it finds goes to its port (``WatchPort``: ``bot.run_events`` in the app). Finished
sends and polls hand their outcome to a settler that writes all outcomes waiting at that
moment in one more call: a running run is rescheduled at ``Retry-After``, a finished
one is delivered and removed. Only runs still under this process's lease are settled, so
a process that stalls past its lease cannot undo another's work. A process that dies holds
its claims only until the lease runs out; then any other process picks them up.

The loop never waits for a slow poll (or a slow Slack update) before claiming what is due
next: a run is polled on time however long the others take.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass
from typing import Protocol

from bot import logs
from bot.domain import BusyKind, GiveUp, KeptPrompt, RunRecord
from bot.origami import errors
from bot.origami.client import OrigamiClient
from bot.origami.models import Run
from bot.stores.budget import NO_BUDGET, BudgetRule, now_ms
from bot.stores.schedule import Claim, Claimed, RunSchedule

log = logging.getLogger(__name__)


class WatchPort(Protocol):
    """What the watcher hands on (``bot.run_events.RunEvents``)."""

    async def send(self, kept: KeptPrompt, *, admitted: bool) -> float | None:
        """Send a kept prompt; seconds until its next try, or None when it is settled."""

    async def give_up(self, item: Claimed, why: GiveUp) -> None:
        """Stop handling an entry that cannot be handled; say so in its thread."""

    async def progress(self, record: RunRecord, run: Run) -> None: ...

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
    deliveries: int = 8
    # How long finished polls wait to be settled together (fewer, larger settle calls).
    settle_delay_s: float = 0.005
    # Least time between two claims: runs due within it are claimed together (polled at
    # most this late) instead of one claim each when hundreds come due every second.
    claim_gap_s: float = 0.005


class Watcher:
    def __init__(
        self,
        schedule: RunSchedule,
        origami: OrigamiClient,
        port: WatchPort,
        config: WatcherConfig | None = None,
        *,
        budget: BudgetRule = NO_BUDGET,
    ) -> None:
        # With the shared budget, each claim takes its polls' slots (no round trip a poll).
        self.budget = budget
        self.schedule = schedule
        self._config = config or WatcherConfig()
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self.work = EntryWork(schedule, origami, port, self._config)
        self._in_flight: set[asyncio.Task[None]] = set()
        # Outcomes of finished polls not yet written; kept across a Redis outage and
        # written as soon as Redis is back, so the runs are polled again at once rather
        # than when their lease ends.
        self._outcomes: list[tuple[Claim, int | None]] = []
        self._settle_wanted = asyncio.Event()
        # When the schedule says something is next due (from the last claim or settle);
        # None: unknown, look again after ``idle_s``.
        self._next_due_ms: int | None = None
        self._wake_at_ms: int | None = None
        self._claimed_at_ms = 0
        self._nudged = False

    @property
    def config(self) -> WatcherConfig:
        return self._config

    @config.setter
    def config(self, config: WatcherConfig) -> None:
        self._config = self.work.config = config

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def nudge(self) -> None:
        """Something is due now (a prompt handed off to the watchers): claim it at once."""
        self._next_due_ms = now_ms()
        self._nudged = True
        if self._wake_at_ms is not None:
            self._wake.set()

    async def listen_for_handoffs(self) -> None:
        """Claim kept prompts as they are announced, not at the next idle look; runs until
        ``stop``."""
        await self.schedule.listen_for_handoffs(self.nudge, self._stopping.is_set)

    async def run_forever(self) -> None:
        log.info("watcher started")
        settler = asyncio.create_task(self._settle_forever(), name="watcher-settle")
        try:
            while not self._stopping.is_set():
                try:
                    await self._claim_and_start()
                except Exception:
                    # Redis down or a bug: log, wait, go on; state in Redis is untouched.
                    log.exception("watcher loop failed; retrying")
                    self._next_due_ms = None
                if len(self._in_flight) >= self.config.in_flight:
                    await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)
                else:
                    await self._idle()
        finally:
            # Let the polls under way finish and write what they owe (bounded: a run not
            # settled is polled again by anyone when its lease ends).
            if self._in_flight:
                await asyncio.wait(self._in_flight, timeout=10)
            # Stopped by its flag, not cancelled: a cancellation landing inside a Redis
            # call can be absorbed there, and awaiting the task would then never end.
            self._settle_wanted.set()
            await asyncio.wait([settler], timeout=5)
            settler.cancel()
            with contextlib.suppress(Exception):
                await self._flush()
        log.info("watcher stopped")

    async def tick(self) -> int:
        """One claim, its polls run to the end and settled; how many runs it handled.

        The loop above does the same without waiting; tests drive the watcher this way."""
        await self._flush()
        started = await self._claim_and_start()
        if started:
            await asyncio.gather(*started)
        await self._flush()
        return len(started)

    async def _idle(self) -> None:
        """Wait until the next run is due (known from the last claim or settle: no Redis
        call to ask), but at least ``claim_gap_s`` after the last claim and at most
        ``idle_s``, so a run scheduled by another process is noticed soon."""
        started = now_ms()
        while not self._stopping.is_set():
            now = now_ms()
            timeout = self.config.idle_s - (now - started) / 1000
            if self._next_due_ms is not None:
                # +1 ms: waking a hair early would cost a claim that finds nothing.
                timeout = min(timeout, (self._next_due_ms - now + 1) / 1000)
            timeout = max(timeout, (self._claimed_at_ms - now) / 1000 + self.config.claim_gap_s)
            if timeout <= 0:
                return
            self._wake_at_ms = now + int(timeout * 1000)
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                return
            finally:
                self._wake_at_ms = None
            # Woken (an earlier due time, or stop): look again.

    async def _claim_and_start(self) -> list[asyncio.Task[None]]:
        """Claim what is due (as much as this process may take on) and start polling it."""
        room = min(self.config.batch, self.config.in_flight - len(self._in_flight))
        if room <= 0:
            return []
        self._claimed_at_ms = now_ms()
        self._nudged = False
        batch = await self.schedule.claim(
            lease_s=self.config.lease_s,
            kept_lease_s=max(self.config.lease_s, self.config.kept_lease_s),
            limit=room,
            budget=self.budget,
            progress_per_minute=self.config.progress_per_minute,
        )
        self._next_due_ms = batch.next_due_ms
        if self._nudged:
            # Announced while this claim was on its way: it may have missed it.
            self._next_due_ms = now_ms()
        if batch.budget_wait_ms:
            # Due runs were held back for the request budget: look again when it has room.
            self._next_due_ms = now_ms() + batch.budget_wait_ms
        tasks = []
        for item in batch.items:
            task = asyncio.create_task(self._poll(item))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
            tasks.append(task)
        return tasks

    async def _poll(self, item: Claimed) -> None:
        """Poll one run (or send one kept prompt) and hand its outcome to the settler;
        never raises."""
        claim = item.claim
        try:
            due = await self.work.do(item)
        except Exception:
            log.exception("poll failed", extra={"team": claim.team, "entry": claim.id})
            due = await self.work.after_failure(item)
        self._outcomes.append((claim, due))
        self._settle_wanted.set()

    async def _settle_forever(self) -> None:
        # Outcomes that finish while one settle is on its way go together in the next.
        while True:
            await self._settle_wanted.wait()
            if self._stopping.is_set():
                return  # the loop writes what is left itself
            await asyncio.sleep(self.config.settle_delay_s)
            self._settle_wanted.clear()
            try:
                await self._flush()
            except Exception:
                log.warning("settling polls failed; retrying", exc_info=True)
                await asyncio.sleep(1.0)
                self._settle_wanted.set()

    async def _flush(self) -> None:
        if not self._outcomes:
            return
        outcomes, self._outcomes = self._outcomes, []
        try:
            _, next_due = await self.schedule.settle(outcomes)
        except Exception:
            self._outcomes = outcomes + self._outcomes
            raise
        if next_due is not None and (self._next_due_ms is None or next_due < self._next_due_ms):
            self._next_due_ms = next_due
            # The loop sleeps past this run's due time: wake it to sleep less.
            if self._wake_at_ms is not None and next_due < self._wake_at_ms:
                self._wake.set()


class EntryWork:
    """What the watcher does with one claimed entry: send a kept prompt, or poll a run
    (and deliver it once it ended); what it finds goes to the port."""

    def __init__(
        self, schedule: RunSchedule, origami: OrigamiClient, port: WatchPort, config: WatcherConfig
    ) -> None:
        self.schedule = schedule
        self.origami = origami
        self.port = port
        self.config = config
        self._limit = asyncio.Semaphore(config.concurrency)
        self._delivering = asyncio.Semaphore(config.deliveries)
        self.polls = 0

    async def do(self, item: Claimed) -> int | None:
        """The entry's next due time (epoch ms), or None when it is done."""
        if item.claim.kind is BusyKind.PROMPT:
            return await self._send(item)
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

    async def _handle(self, item: Claimed) -> int | None:
        """Poll one run; the epoch ms of its next poll, or None when it is done."""
        record = item.run
        if record is None:
            # Its record expired (or was never written): nothing to poll or post.
            log.warning("scheduled run has no record", extra={"run": item.claim.id})
            return None
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
            return None
        self.polls += 1
        try:
            async with self._limit:
                poll = await self.origami.get_run(
                    record.agent_id, record.run_id, admitted=item.admitted
                )
        except errors.NotFound as exc:
            await self.port.lost(record, exc)
            return None
        except (errors.OrigamiUnreachable, errors.ServerError, errors.RateLimited) as exc:
            log.warning("poll failed; will retry", extra={"error": type(exc).__name__})
            return now_ms() + _jittered(self.config.error_backoff_s)
        # The interval runs from Origami's answer, not from the end of the progress
        # update below: a slow Slack must not stretch the poll interval.
        answered_ms = now_ms()
        run = poll.run
        if not run.status.is_terminal:
            interval = poll.retry_after
            if interval is None:
                interval = self.config.default_interval_s
            if item.show_progress:
                try:
                    await asyncio.wait_for(
                        self.port.progress(record, run), self.config.progress_timeout_s
                    )
                except Exception:
                    # Progress is cosmetic; a Slack hiccup must not stop the watch.
                    log.warning("progress update failed", exc_info=True)
            return answered_ms + int(interval * 1000)
        await self._deliver(item, record, run)
        return None

    async def _deliver(self, item: Claimed, record: RunRecord, run: Run) -> None:
        # Delivery may take several Slack calls (and their 429 retries): hold the run.
        extended = await self.schedule.extend_lease(item.claim, self.config.delivery_lease_s)
        if extended is None:
            log.warning("lease lost before delivery; another process has the run")
            return
        try:
            async with self._delivering:
                await self.port.finished(record, run)
        except Exception:
            # Not lost: retried soon (parts already posted are skipped). Settled here
            # because the extended lease is what the schedule now holds.
            log.exception("delivery failed; will retry")
            await self.schedule.settle([(extended, await self.after_failure(item, extended))])
            return
        await self.schedule.settle([(extended, None)])

    async def _send(self, item: Claimed) -> int | None:
        # The claim read the kept prompt right after taking its entry: None means it is
        # gone (sent by a worker whose lease ran out, or expired).
        if item.kept is None:
            return None
        retry_in = await self.port.send(item.kept, admitted=item.admitted)
        return None if retry_in is None else now_ms() + int(retry_in * 1000)


def _jittered(seconds: float) -> int:
    return int(seconds * 1000 * random.uniform(0.8, 1.2))
