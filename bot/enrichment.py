"""Tables still being enriched when their run ends: re-read slowly until they are done.

Origami keeps filling a table's cells (work emails, scores) after the run that made it
ends (``cells.running > 0``: "the data is still arriving, read again later"). Each such
table of a delivered result is followed here: re-read every ``first_read_s`` at first, the
waits growing to ``max_wait_s`` (a table that takes long to fill changes slowly), each read
through the workspace's Origami client at a poll's priority (the shared request budget
keeps its reserve for people). While it fills, its card and preview are updated in place
(the result message is read back and only their blocks replaced, so buttons closed since
stay closed); when it is done, one line in the thread says so with the final counts.
Following stops after ``follow_s`` whatever the table does, with a note on its card.

The tables followed live in Redis (``bot.stores.enrichment``), claimed with a lease by any
worker: a restart or a second process neither loses a table nor reads it twice at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from bot.delivery import Delivered, Delivery
from bot.domain import Part, RunRecord
from bot.origami import errors
from bot.origami.client import Priority
from bot.origami.models import Run, Table
from bot.previews import LeadPreview, LeadPreviews
from bot.stores.budget import now_ms
from bot.stores.enrichment import EnrichmentStore, FollowedTable, TableLease, TablePlace
from bot.tenancy.origami import OrigamiFor

log = logging.getLogger(__name__)


class Following(Enum):
    """Where a followed table stands after a re-read."""

    FILLING = "filling"  # still being enriched: followed on
    DONE = "done"  # no cells running any more
    GIVEN_UP = "given_up"  # still filling at the end of ``follow_s``: no longer followed


class EnrichmentView(Protocol):
    """How a followed table is shown (``bot.slack.enrichment_view`` on Slack)."""

    def places(
        self, run: Run, parts: Sequence[Part], posted: Mapping[str, str]
    ) -> dict[str, TablePlace]:
        """Table id -> where the delivered ``parts`` of ``run`` (posted at ``posted``: name
        -> ts) show it, for each of its tables they show."""

    async def refresh(
        self,
        followed: FollowedTable,
        table: Table,
        preview: LeadPreview | None,
        state: Following,
    ) -> None:
        """Update the table's card (and its preview, when ``preview``) in place."""

    def finished(self, table: Table) -> Part:
        """The line that says the table's enrichment is done, with its final counts."""


@dataclass(frozen=True, slots=True)
class EnrichmentConfig:
    # The first re-read, and the wait between re-reads at first; each wait grows with the
    # time followed (doubling every 10 waits) up to ``max_wait_s``.
    first_read_s: float = 30.0
    max_wait_s: float = 120.0
    # How long a table is followed at most: a table still filling after half an hour is
    # a long enrichment, better watched in Origami than by a card that keeps changing.
    follow_s: float = 30 * 60.0
    # One re-read: two Origami GETs (under the budget) and a few Slack calls (with their
    # 429 waits); the lease outlasts it.
    lease_s: float = 90.0
    read_timeout_s: float = 60.0
    # After a failed re-read (Origami or Slack down), the next one comes this much later.
    error_backoff_s: float = 30.0
    # Tables one claim takes; how long an idle loop sleeps before it looks again (a table
    # followed by another process is first due ``first_read_s`` later: no hurry).
    batch: int = 20
    idle_s: float = 5.0
    # Slack's allowance of updates a minute (``WatcherConfig.progress_per_minute``; -1:
    # none kept): a card's update takes its slots like a run's progress does, so runs'
    # progress, results and answers stay under chat.update's Tier 3 limit; a card with
    # none left is updated when the allowance frees.
    updates_per_minute: int = -1


def figures(table: Table) -> str:
    """What a card shows of a table, to update it only when something changed."""
    return (
        f"{table.lead_count}|{table.qualified_leads}|{table.credits.lifetime_used:g}|"
        f"{table.cells.running}|{table.updated_at or ''}"
    )


def wait_s(config: EnrichmentConfig, followed_s: float) -> float:
    """The wait before the next re-read of a table followed for ``followed_s``."""
    grown = config.first_read_s * 2 ** (followed_s / (10 * config.first_read_s))
    return min(config.max_wait_s, max(config.first_read_s, grown))


class EnrichmentFollower:
    def __init__(
        self,
        store: EnrichmentStore,
        origami: OrigamiFor,
        view: EnrichmentView,
        delivery: Delivery,
        previews: LeadPreviews,
        config: EnrichmentConfig | None = None,
    ) -> None:
        self.store = store
        self.origami = origami
        self.view = view
        self.delivery = delivery
        self.previews = previews
        self.config = config or EnrichmentConfig()
        self.reads = 0
        self._stopping = asyncio.Event()

    async def follow(self, record: RunRecord, run: Run, delivered: Delivered) -> int:
        """Follow the tables of a delivered run still being enriched; how many are new
        (none when a delivery done again after a crash follows them already)."""
        tables = [t for t in (run.response.tables if run.response else []) if t.is_enriching]
        if not tables:
            return 0
        places = self.view.places(run, delivered.parts, delivered.ts)
        now = now_ms()
        until = now + int(self.config.follow_s * 1000)
        first = now + int(self.config.first_read_s * 1000)
        started = 0
        for table in tables:
            place = places.get(table.id)
            if place is None:
                continue  # its card could not be placed (a result cut short): nothing to update
            followed = FollowedTable(
                team=record.team,
                channel=record.channel,
                thread_ts=record.thread_ts,
                run_id=run.id,
                table_id=table.id,
                place=place,
                since_ms=now,
                until_ms=until,
                seen=figures(table),
            )
            if await self.store.follow(followed, min(first, until)):
                started += 1
                log.info("following a table still being enriched", extra={"table": table.id})
        return started

    # -- the loop -------------------------------------------------------------------------

    def stop(self) -> None:
        self._stopping.set()

    async def run_forever(self) -> None:
        """Re-read what is due until ``stop``; a Redis outage is waited out."""
        while not self._stopping.is_set():
            wait = self.config.idle_s
            try:
                next_due = await self._claim_and_read()
                if next_due is not None:
                    wait = min(wait, max(0.0, (next_due - now_ms()) / 1000))
            except Exception:
                log.exception("following enriching tables failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), wait)

    async def tick(self) -> int:
        """One claim and its re-reads, to the end; how many tables it re-read. The loop
        does the same; tests drive the follower this way."""
        before = self.reads
        await self._claim_and_read()
        return self.reads - before

    async def _claim_and_read(self) -> int | None:
        claim = await self.store.claim(
            now_ms=now_ms(), lease_s=self.config.lease_s, limit=self.config.batch
        )
        if claim.items:
            await asyncio.gather(*(self._reread(item) for item in claim.items))
            return now_ms()  # a full batch may have left more due: look again at once
        return claim.next_due_ms

    async def _reread(self, lease: TableLease) -> None:
        """Re-read one table, show what changed, and settle when it is next due; never
        raises (what fails is tried again after a back-off, until following ends)."""
        followed = lease.table
        if followed is None:
            await self._settle(lease, None)
            return
        self.reads += 1
        try:
            async with asyncio.timeout(self.config.read_timeout_s):
                due, seen = await self._read_and_show(followed)
        except (errors.NotFound, errors.NotConnected) as exc:
            # Deleted, or no key to read it with any more: nothing more will change.
            log.info("stopped following a table", extra={"reason": type(exc).__name__})
            due, seen = None, ""
        except Exception as exc:
            log.warning(
                "re-reading an enriching table failed; will retry",
                extra={"table": followed.table_id, "error": type(exc).__name__},
            )
            retry = now_ms() + int(self.config.error_backoff_s * 1000 * random.uniform(0.8, 1.2))
            due, seen = (retry if retry < followed.until_ms + self._grace_ms() else None), ""
        await self._settle(lease, due, seen)

    async def _read_and_show(self, followed: FollowedTable) -> tuple[int | None, str]:
        origami = await self.origami.for_team(followed.team)
        table = await origami.get_table(followed.table_id, priority=Priority.POLL)
        now = now_ms()
        if not table.is_enriching:
            state = Following.DONE
        elif now >= followed.until_ms:
            state = Following.GIVEN_UP
        else:
            state = Following.FILLING
        seen = figures(table)
        if state is Following.DONE:
            # The line first: it is what says the table is done, and a card that cannot be
            # updated (invalid blocks, the workspace gone) must not keep it from being said.
            # Posted once whatever retries follow.
            await self.delivery.post_once(
                followed.thread, finished_owner(followed, seen), [self.view.finished(table)]
            )
            log.info("a followed table is enriched", extra={"table": table.id})
        if seen != followed.seen or state is not Following.FILLING:
            wait_ms = await self.store.take_updates(
                _updates(followed), per_minute=self.config.updates_per_minute, now_ms=now
            )
            if wait_ms:
                # Not now: read again when the allowance has room; ``seen`` stays as it
                # was, so that read updates the card.
                log.info("slack update allowance used up; card updated later")
                due = now + int(wait_ms * random.uniform(1.0, 1.2))
                return (due if due < followed.until_ms + self._grace_ms() else None), ""
            preview = None
            if followed.place.preview_ts:
                preview = await self.previews.of_table(followed.team, table)
            await self.view.refresh(followed, table, preview, state)
        if state is not Following.FILLING:
            return None, seen
        followed_s = (now - followed.since_ms) / 1000
        return min(now + int(wait_s(self.config, followed_s) * 1000), followed.until_ms), seen

    def _grace_ms(self) -> int:
        # A re-read that fails at the bound is tried a few more times: the final line of a
        # table done just then must not be lost to one Slack hiccup.
        return int(3 * self.config.error_backoff_s * 1000)

    async def _settle(self, lease: TableLease, due: int | None, seen: str = "") -> None:
        try:
            if not await self.store.settle(lease, due, seen):
                log.warning("lease lost before settling; another process has the table")
        except Exception:
            # The lease runs out and the table is re-read then, by anyone.
            log.warning("could not settle a followed table", exc_info=True)


def _updates(followed: FollowedTable) -> int:
    """The messages a refresh updates: the card's, and its preview's when apart."""
    place = followed.place
    return 2 if place.preview_ts not in ("", place.card_ts) else 1


def finished_owner(followed: FollowedTable, seen: str) -> str:
    """Whose "fully enriched" line it is: the thread's, for the table as it ended (``seen``,
    its figures). A later run of the thread adding leads to a table still filling has its
    card followed too; both find it done with the same figures and say so once. A table
    enriched again after it was done ends with other figures: its end is said again."""
    ended = hashlib.sha256(seen.encode()).hexdigest()[:16]
    return f"enriched-{followed.thread_ts}-{followed.table_id}-{ended}"
