"""The run schedule: runs to poll and kept prompts to send, due by time, claimed with a
lease by any worker and settled under that lease only (a fencing token).

A sorted set scored by due time (epoch ms). A claim moves what is due to the end of a
lease, so a worker that dies simply lets its leases run out and its entries become due
again for everyone; a worker that stalls past its lease cannot undo another's work, as a
settle changes only entries still scored at its own lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from bot.domain import BusyKind, KeptPrompt, RunRecord
from bot.stores import codec, keys
from bot.stores.budget import NO_BUDGET, BudgetRule, now_ms, unique_member
from bot.stores.claim_scripts import CLAIM_LUA, CLAIM_PER_ORGANIZATION_LUA

log = logging.getLogger(__name__)

# KEYS: the schedule, the failure counts. For each entry still held under the caller's
# lease: reschedule it, or drop it (due -1) with its failure count. Returns how many
# changed and the earliest due time left.
_SETTLE_LUA = """
local a = cjson.decode(ARGV[1])
local done = 0
for _, item in ipairs(a.items) do
  local score = redis.call('ZSCORE', KEYS[1], item[1])
  if score and tonumber(score) == item[2] then
    if item[3] < 0 then
      redis.call('ZREM', KEYS[1], item[1])
      redis.call('HDEL', KEYS[2], item[1])
    else
      redis.call('ZADD', KEYS[1], item[3], item[1])
    end
    done = done + 1
  end
end
redis.call('EXPIRE', KEYS[1], a.ttl)
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local next_due = -1
if first[2] then next_due = tonumber(first[2]) end
return {done, next_due}
"""


def run_entry(team: str, run_id: str) -> str:
    """The schedule entry of a run: ``r|team|run_id`` (ids never contain ``|``)."""
    return f"r|{team}|{run_id}"


def prompt_entry(team: str, prompt_id: str) -> str:
    return f"p|{team}|{prompt_id}"


def is_team_entry(entry: str, team: str) -> bool:
    """Whether a schedule entry (a run's or a kept prompt's) belongs to workspace ``team``."""
    kind, _, rest = entry.partition("|")
    return kind in ("r", "p") and rest.rpartition("|")[0] == team


@dataclass(frozen=True, slots=True)
class Claim:
    """An entry this worker holds until ``lease_ms`` (epoch ms): its fencing token."""

    entry: str
    lease_ms: int

    @property
    def kind(self) -> BusyKind:
        return BusyKind.PROMPT if self.entry.startswith("p|") else BusyKind.RUN

    @property
    def team(self) -> str:
        return self.entry[2:].rpartition("|")[0]

    @property
    def id(self) -> str:
        return self.entry.rpartition("|")[2]


@dataclass(frozen=True, slots=True)
class Claimed:
    claim: Claim
    # Its Origami request's slot of the budget was taken by the claim.
    admitted: bool
    # A run: whether it may update its progress line this time (Slack's allowance).
    show_progress: bool
    run: RunRecord | None  # a run's record (None for a prompt, or when it expired)
    kept: KeptPrompt | None  # a kept prompt (None for a run, or when it was sent)


@dataclass(frozen=True, slots=True)
class ClaimBatch:
    items: list[Claimed]
    next_due_ms: int | None
    budget_wait_ms: int  # > 0 when the request budget held due runs back
    # Due runs rescheduled to when their organisation's budget has room (many workspaces).
    deferred: int = 0


# Run records a process keeps after reading them once (see ``RunSchedule._records``).
_RECORDS_KEPT = 20_000


class RunSchedule:
    def __init__(self, client: Any) -> None:
        self.redis = client
        self._claim = client.register_script(CLAIM_LUA)
        self._claim_per_organization = client.register_script(CLAIM_PER_ORGANIZATION_LUA)
        self._settle = client.register_script(_SETTLE_LUA)
        # A run's record is written once, when Origami takes its prompt (``RunStore.watch``),
        # and never changed: a run this process polled before needs no read when it comes
        # due again, so a claim of runs is one round trip, not two. Dropped when the run
        # leaves the schedule; bounded by clearing (a miss costs one read).
        self._records: dict[str, RunRecord] = {}

    async def claim(
        self,
        *,
        lease_s: float,
        kept_lease_s: float,
        limit: int,
        budget: BudgetRule = NO_BUDGET,
        progress_per_minute: int = -1,
        per_organization: bool = False,
        now: int | None = None,
    ) -> ClaimBatch:
        """Claim up to ``limit`` due entries (see ``bot.stores.claim_scripts``), then read
        the records this process does not keep yet: one round trip, two when there are
        any. Runs are held for ``lease_s``, prompts for ``kept_lease_s`` (a send may take
        the Origami client's whole retry budget). ``per_organization``: ``budget`` is each
        Origami organisation's, not one for all (many workspaces)."""
        args = {
            "now": now_ms() if now is None else now,
            "lease": int(lease_s * 1000),
            "kept_lease": int(kept_lease_s * 1000),
            "limit": limit,
            "window": budget.window_ms,
            "poll_limit": budget.poll_limit,
            "user_limit": budget.per_minute,
            "progress_limit": progress_per_minute,
            "member": unique_member(),
        }
        script = self._claim_per_organization if per_organization else self._claim
        claim_keys = [keys.schedule(), keys.origami_budget(), keys.progress_budget()]
        if per_organization:
            claim_keys.append(keys.budget_of_team())
        entries, admitted, shows, next_due, wait, lease, kept_lease, deferred = await script(
            keys=claim_keys, args=[json.dumps(args)]
        )
        claims = [
            Claim(str(e), int(kept_lease if str(e).startswith("p|") else lease)) for e in entries
        ]
        unread = [c for c in claims if c.kind is BusyKind.PROMPT or c.entry not in self._records]
        read: dict[str, Any] = {}
        if unread:
            async with self.redis.pipeline(transaction=False) as pipe:
                for c in unread:
                    if c.kind is BusyKind.PROMPT:
                        pipe.hgetall(keys.kept(c.team, c.id))
                    else:
                        pipe.get(keys.run(c.team, c.id))
                read = dict(zip((c.entry for c in unread), await pipe.execute(), strict=True))
        items = []
        shows_left = int(shows)
        for claim, slot in zip(claims, admitted, strict=True):
            show = False
            if claim.kind is BusyKind.RUN and shows_left > 0:
                show, shows_left = True, shows_left - 1
            run, kept = None, None
            if claim.kind is BusyKind.PROMPT:
                raw = read[claim.entry]
                kept = codec.load_kept(cast(dict[str, str], raw)) if raw else None
            else:
                run = self._kept_record(claim.entry, read)
            items.append(
                Claimed(
                    claim=claim, admitted=bool(int(slot)), show_progress=show, run=run, kept=kept
                )
            )
        return ClaimBatch(
            items=items,
            next_due_ms=None if int(next_due) < 0 else int(next_due),
            budget_wait_ms=int(wait),
            deferred=int(deferred),
        )

    def _kept_record(self, entry: str, read: dict[str, Any]) -> RunRecord | None:
        if entry in self._records:
            return self._records[entry]
        record = codec.load_run(read[entry])
        if record is not None:
            if len(self._records) >= _RECORDS_KEPT:
                self._records.clear()
            self._records[entry] = record
        return record

    async def settle(self, outcomes: Sequence[tuple[Claim, int | None]]) -> tuple[int, int | None]:
        """Reschedule each claimed entry to its new due time (epoch ms), or drop it
        (``None``), in one round trip; only entries still under our lease change.
        Returns how many changed and the earliest due time left."""
        if not outcomes:
            return 0, None
        items = [[c.entry, c.lease_ms, -1 if due is None else due] for c, due in outcomes]
        for c, due in outcomes:
            if due is None:
                self._records.pop(c.entry, None)
        args = {"items": items, "ttl": keys.seconds(keys.SCHEDULE_TTL)}
        done, next_due = await self._settle(
            keys=[keys.schedule(), keys.failures()], args=[json.dumps(args)]
        )
        return int(done), None if int(next_due) < 0 else int(next_due)

    async def extend_lease(self, claim: Claim, lease_s: float) -> Claim | None:
        """Hold an entry longer (a slow delivery); None when the lease was already lost."""
        new_lease = now_ms() + int(lease_s * 1000)
        done, _ = await self.settle([(claim, new_lease)])
        return Claim(claim.entry, new_lease) if done else None

    async def failed(self, claim: Claim) -> int:
        """Count one more failure of handling ``claim``'s entry; how many in a row."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(keys.failures(), claim.entry, 1)
            pipe.expire(keys.failures(), keys.seconds(keys.SCHEDULE_TTL))
            count, _ = await pipe.execute()
        return int(count)

    async def count(self) -> int:
        return int(await self.redis.zcard(keys.schedule()))

    async def listen_for_handoffs(
        self, nudge: Callable[[], None], stopping: Callable[[], bool]
    ) -> None:
        """Call ``nudge`` for each prompt announced on the hand-off channel, until
        ``stopping()``; survives Redis restarts (the claimer's idle look covers the gap)."""
        while not stopping():
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(keys.handoff_channel())
                while not stopping():
                    # Bounded waits, so a stop is seen within a second.
                    if await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0):
                        nudge()
            except Exception:
                log.warning("handoff subscription lost; resubscribing", exc_info=True)
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
