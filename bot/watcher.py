"""The watcher: polls every run in flight until it ends, then hands it to the bridge.

Runs in flight live in Redis, in a sorted set scored by when each is next due a poll
(``keys.schedule``). Every process runs a watcher; each loop claims the runs that are due
with one Lua call that also moves them to the end of a lease, polls them concurrently, and
settles them in one more call: a running run is rescheduled at ``Retry-After``, a finished
one is delivered and removed. Only runs still under this process's lease are settled, so
a process that stalls past its lease cannot undo another's work. A process that dies holds
its claims only until the lease runs out; then any other process picks them up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass

from bot import logs
from bot.bridge import Bridge
from bot.origami import errors
from bot.origami.client import OrigamiClient
from bot.store import BudgetRule, Claim, RunRecord, Store, now_ms

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WatcherConfig:
    # Longer than one poll takes (Origami's timeout is 20 s), so a live process keeps the
    # runs it polls; also the bound on how long a dead process's runs wait for another.
    lease_s: float = 30.0
    # Delivery can take several Slack calls and their 429 waits: the lease is extended.
    delivery_lease_s: float = 120.0
    batch: int = 200
    concurrency: int = 200
    # How long an idle loop sleeps before looking again; also how fast a new run that is
    # already due gets noticed by a process other than the one that scheduled it.
    idle_s: float = 0.25
    # Used when a running run comes back without Retry-After (the API says 15).
    default_interval_s: float = 15.0
    # Retry delay after a failed poll (Origami down or rate limited).
    error_backoff_s: float = 15.0


class Watcher:
    def __init__(
        self,
        store: Store,
        origami: OrigamiClient,
        bridge: Bridge,
        config: WatcherConfig | None = None,
        *,
        budget: BudgetRule | None = None,
    ) -> None:
        # With the shared budget, each claim takes its polls' slots (no round trip a poll).
        self.budget = budget
        self.store = store
        self.origami = origami
        self.bridge = bridge
        self.config = config or WatcherConfig()
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._limit = asyncio.Semaphore(self.config.concurrency)
        # Outcomes that could not be written (Redis down): written first thing once Redis
        # is back, so the runs are polled again at once rather than when their lease ends.
        self._unsettled: list[tuple[Claim, int | None]] = []
        # When the schedule says something is next due (from the last claim or settle);
        # None: unknown, look again after ``idle_s``.
        self._next_due_ms: int | None = None
        self.polls = 0

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run_forever(self) -> None:
        log.info("watcher started")
        while not self._stopping.is_set():
            try:
                await self.tick()
            except Exception:
                # Redis down or a bug: log, wait, go on; state in Redis is untouched.
                log.exception("watcher loop failed; retrying")
                self._next_due_ms = None
            # Straight on only when more is due already (a batch left some behind).
            if self._next_due_ms is None or self._next_due_ms > now_ms():
                await self._idle()
        log.info("watcher stopped")

    async def _idle(self) -> None:
        # The last claim or settle said when the next run is due: no Redis call to ask.
        # A run scheduled since then by this process wakes the loop (``wake``); one
        # scheduled by another process is noticed within ``idle_s``.
        timeout = self.config.idle_s
        if self._next_due_ms is not None:
            # +1 ms: waking a hair early would cost a claim that finds nothing.
            timeout = min(timeout, max(0.0, (self._next_due_ms - now_ms() + 1) / 1000))
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    async def tick(self) -> int:
        """Claim what is due, poll it, settle it. Returns how many runs were handled.

        Two Redis round trips a batch, whatever its size: the claim (which also returns
        the runs' records and takes their budget slots) and the settle."""
        if self._unsettled:
            await self.store.settle(self._unsettled)
            self._unsettled = []
        batch = await self.store.claim_due(
            lease=self.config.lease_s, limit=self.config.batch, budget=self.budget
        )
        self._next_due_ms = batch.next_due_ms
        if batch.budget_wait_ms:
            # Due runs were held back for the request budget: look again when it has room.
            self._next_due_ms = now_ms() + batch.budget_wait_ms
        claims = batch.claims
        if not claims:
            return 0
        results = await asyncio.gather(
            *(
                self._handle(c, r, q)
                for c, r, q in zip(claims, batch.records, batch.queued, strict=True)
            ),
            return_exceptions=True,
        )
        outcomes: list[tuple[Claim, int | None]] = []
        for claim, result in zip(claims, results, strict=True):
            if isinstance(result, BaseException):
                log.error(
                    "poll failed",
                    exc_info=result,
                    extra={"team": claim.team, "run": claim.run_id},
                )
                outcomes.append((claim, now_ms() + int(self.config.error_backoff_s * 1000)))
            else:
                outcomes.append((claim, result))
        try:
            _, next_due = await self.store.settle(outcomes)
        except Exception:
            self._unsettled = outcomes
            raise
        if not batch.budget_wait_ms:
            self._next_due_ms = next_due
        return len(claims)

    async def _handle(self, claim: Claim, record: RunRecord | None, queued: int) -> int | None:
        """Poll one run; the epoch ms of its next poll, or None when it is done."""
        if claim.deferred_id is not None:
            return await self._resend(claim, claim.deferred_id)
        if record is None:
            # Its record expired (or was never written): nothing to poll or post.
            log.warning("scheduled run has no record", extra={"run": claim.run_id})
            return None
        async with self._limit:
            logs.bind(
                team=record.team,
                channel=record.channel,
                thread=record.thread_ts,
                agent=record.agent_id,
                run=record.run_id,
            )
            self.polls += 1
            try:
                poll = await self.origami.get_run(
                    record.agent_id, record.run_id, admitted=self.budget is not None
                )
            except errors.NotFound as exc:
                await self.bridge.watch_failed(record, exc)
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
                try:
                    await self.bridge.show_progress(record, run, queued)
                except Exception:
                    # Progress is cosmetic; a Slack hiccup must not stop the watch.
                    log.warning("progress update failed", exc_info=True)
                return answered_ms + int(interval * 1000)
            # Delivery may take several Slack calls (and their 429 retries): hold the run.
            extended = await self.store.extend_lease(claim, self.config.delivery_lease_s)
            if extended is None:
                log.warning("lease lost before delivery; another process has the run")
                return None
            try:
                await self.bridge.deliver(record, run)
            except Exception:
                # Not lost: retried soon (parts already posted are skipped). Settled here
                # because the extended lease is what the schedule now holds.
                log.exception("delivery failed; will retry")
                retry = now_ms() + _jittered(self.config.error_backoff_s)
                await self.store.settle([(extended, retry)])
                return None
            await self.store.settle([(extended, None)])
            return None

    async def _resend(self, claim: Claim, deferred_id: str) -> int | None:
        item = await self.store.get_deferred(claim.team, deferred_id)
        if item is None:
            return None
        async with self._limit:
            retry_in = await self.bridge.resend(item)
        return None if retry_in is None else now_ms() + int(retry_in * 1000)


def _jittered(seconds: float) -> int:
    return int(seconds * 1000 * random.uniform(0.8, 1.2))
