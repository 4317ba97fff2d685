"""The watcher: sends every kept prompt and polls every run in flight until it ends.

Both live in the run schedule (``bot.stores.schedule``): a sorted set scored by when each
entry is next due. Every worker runs a watcher. Its loop claims what is due (one Lua call
that also moves it to the end of a lease, then one read of the records), starts a send or
a poll for each without waiting for the others, and sleeps until the next entry is due.
With many workspaces, each poll takes its slot from its Origami organisation's budget, and
one over it is rescheduled to when that budget has room: a busy organisation never holds
another's polls back. What it finds goes to its port (``WatchPort``: ``bot.run_events``
in the app). Finished sends and polls hand their outcome to a settler that writes all
outcomes waiting at that moment in one more call: a running run is rescheduled at
``Retry-After``, a finished one is delivered and removed. Only runs still under this
process's lease are settled, so a process that stalls past its lease cannot undo another's
work. A process that dies holds its claims only until the lease runs out; then any other
process picks them up.

The loop never waits for a slow poll (or a slow Slack update) before claiming what is due
next: a run is polled on time however long the others take.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.metrics import Metrics
from bot.stores.budget import NO_BUDGET, BudgetRule, now_ms
from bot.stores.schedule import Claimed, RunSchedule
from bot.tenancy.origami import OrigamiFor
from bot.watch_entries import EntryWork, Outcome, WatchPort
from bot.watch_entries import WatcherConfig as WatcherConfig

log = logging.getLogger(__name__)


class Watcher:
    def __init__(
        self,
        schedule: RunSchedule,
        origami: OrigamiFor,
        port: WatchPort,
        config: WatcherConfig | None = None,
        *,
        budget: BudgetRule = NO_BUDGET,
        per_organization: bool = False,
        metrics: Metrics | None = None,
    ) -> None:
        # With the shared budget, each claim takes its polls' slots (no round trip a poll);
        # ``per_organization``: ``budget`` is each Origami organisation's (many workspaces).
        self.budget = budget
        self.per_organization = per_organization
        self.schedule = schedule
        self._config = config or WatcherConfig()
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self.work = EntryWork(schedule, origami, port, self._config, metrics)
        self._in_flight: set[asyncio.Task[None]] = set()
        # Outcomes of finished polls not yet written; kept across a Redis outage and
        # written as soon as Redis is back, so the runs are polled again at once rather
        # than when their lease ends.
        self._outcomes: list[Outcome] = []
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
                await asyncio.wait(self._in_flight, timeout=self.config.drain_s)
            # Left running, each would fail on the closed clients as a poll failure and be
            # counted against its run (``max_failures``); cancelled, it settles nothing.
            left = list(self._in_flight)
            for task in left:
                task.cancel()
            if left:
                log.info("polls still under way at the stop were cancelled", extra={"n": len(left)})
                await asyncio.wait(left, timeout=1)
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
            per_organization=self.per_organization,
        )
        self._next_due_ms = batch.next_due_ms
        if self._nudged:
            # Announced while this claim was on its way: it may have missed it.
            self._next_due_ms = now_ms()
        if batch.budget_wait_ms:
            # Due runs were held back for the request budget: look again when it has room.
            self._next_due_ms = now_ms() + batch.budget_wait_ms
            self.work.metrics.budget_waited("poll", batch.budget_wait_ms / 1000)
        if batch.deferred:
            # Runs over their organisation's budget were rescheduled to when it has room.
            self.work.metrics.polls_deferred.inc(batch.deferred)
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
            outcome = await self.work.do(item)
        except Exception:
            log.exception("poll failed", extra={"team": claim.team, "entry": claim.id})
            outcome = claim, await self.work.after_failure(item)
        self._outcomes.append(outcome)
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
