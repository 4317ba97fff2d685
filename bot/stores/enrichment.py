"""Tables still being enriched after their run ended: which, where their card is, and when
each is next re-read, claimed with a lease by any worker and settled under it only.

A schedule of its own (``keys.enriching_due``) beside the run schedule, built the same way:
a sorted set scored by due time (epoch ms); a claim moves what is due to the end of a
lease, so a worker that dies lets its leases run out and another takes the entries over,
and one that stalls past its lease cannot undo another's work (a settle changes only an
entry still scored at its own lease). Each re-read is thereby done by one process, once.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any

from bot.domain import ThreadRef
from bot.stores import keys
from bot.stores.budget import TAKE_SLOTS_FN, WINDOW_MS, unique_member

# Claims what is due (at most ``limit``), holding each until the lease ends; returns the
# entries, the lease and the earliest due time left.
_CLAIM_LUA = """
local a = cjson.decode(ARGV[1])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', a.now, 'LIMIT', 0, a.limit)
local lease = a.now + a.lease
for _, m in ipairs(due) do redis.call('ZADD', KEYS[1], lease, m) end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local next_due = -1
if first[2] then next_due = tonumber(first[2]) end
return {due, lease, next_due}
"""

# KEYS: the schedule, the entry's record. Only while the entry is still held under the
# caller's lease: reschedule it (and note what was last shown), or drop it with its record.
_SETTLE_LUA = """
local a = cjson.decode(ARGV[1])
local score = redis.call('ZSCORE', KEYS[1], a.entry)
if not score or tonumber(score) ~= a.lease then return 0 end
if a.due < 0 then
  redis.call('ZREM', KEYS[1], a.entry)
  redis.call('DEL', KEYS[2])
else
  redis.call('ZADD', KEYS[1], a.due, a.entry)
  if a.seen ~= '' then redis.call('HSET', KEYS[2], 'seen', cjson.encode(a.seen)) end
end
return 1
"""

# KEYS: Slack's update allowance (``keys.progress_budget``: a one-minute window shared
# with the runs' progress). The budget's own slot taking, all ``n`` or none (a card and its
# preview are updated together, or not yet): 0 when taken, else the ms until all fit. A
# negative limit keeps no allowance.
_TAKE_UPDATES_LUA = (
    TAKE_SLOTS_FN
    + """
local a = cjson.decode(ARGV[1])
local _, wait = take_slots(KEYS[1], a.now, a.window, a.limit, a.n, a.member, true)
return wait
"""
)


@dataclass(frozen=True, slots=True)
class TablePlace:
    """Where a table of a delivered result is shown: its position in the result, the
    message of its card and the one of its preview ("" when it has none)."""

    index: int  # the table's position in its run's result (its blocks' ids)
    card_ts: str
    preview_ts: str = ""
    # What the run did to the table, as its card says.
    created: bool = False
    leads_added: int = 0


@dataclass(frozen=True, slots=True)
class FollowedTable:
    """A table whose run ended while its cells were still filling, and where it is shown."""

    team: str
    channel: str
    thread_ts: str
    run_id: str
    table_id: str
    place: TablePlace
    since_ms: int  # when following began (epoch ms)
    until_ms: int  # when following stops, done or not
    seen: str = ""  # the figures last shown (``bot.enrichment.figures``)

    @property
    def thread(self) -> ThreadRef:
        return ThreadRef(self.team, self.channel, self.thread_ts)

    @property
    def entry(self) -> str:
        return f"e|{self.team}|{self.run_id}|{self.table_id}"


# A record is one flat hash (the place's fields beside the others): the settle script
# writes ``seen`` alone, and records written before ``place`` was a field of its own read
# the same.
_PLACE_FIELDS = tuple(f.name for f in fields(TablePlace))
_FIELDS = tuple(f.name for f in fields(FollowedTable) if f.name != "place")


def _dump(table: FollowedTable) -> dict[str, str]:
    flat = {k: v for k, v in asdict(table).items() if k != "place"} | asdict(table.place)
    return {k: json.dumps(v) for k, v in flat.items()}


def _load(raw: dict[str, str]) -> FollowedTable | None:
    """A record as written by ``follow``; None when it is gone or not one (never raises)."""
    if not raw:
        return None
    try:
        place = TablePlace(**{k: json.loads(raw[k]) for k in _PLACE_FIELDS if k in raw})
        values = {k: json.loads(raw[k]) for k in _FIELDS if k in raw}
        return FollowedTable(place=place, **values)
    except (ValueError, TypeError):
        return None


@dataclass(frozen=True, slots=True)
class TableLease:
    """A followed table this worker holds until ``lease_ms``: its fencing token."""

    entry: str
    lease_ms: int
    table: FollowedTable | None  # None: its record is gone (uninstalled, expired)


@dataclass(frozen=True, slots=True)
class TableClaim:
    items: list[TableLease]
    next_due_ms: int | None


def _record_key(entry: str) -> str:
    _, team, run_id, table_id = entry.split("|", 3)
    return keys.enriching(team, run_id, table_id)


class EnrichmentStore:
    def __init__(self, client: Any) -> None:
        self.redis = client
        self._claim = client.register_script(_CLAIM_LUA)
        self._settle = client.register_script(_SETTLE_LUA)
        self._take_updates = client.register_script(_TAKE_UPDATES_LUA)

    async def follow(self, table: FollowedTable, due_ms: int) -> bool:
        """Start following ``table``, first re-read at ``due_ms``; False when it already is
        (a delivery done again after a crash keeps the first record and due time)."""
        key = keys.enriching(table.team, table.run_id, table.table_id)
        ttl = max(1, (table.until_ms - table.since_ms) // 1000) + keys.seconds(keys.ENRICHING_TTL)
        async with self.redis.pipeline(transaction=True) as pipe:
            for name, value in _dump(table).items():
                pipe.hsetnx(key, name, value)
            pipe.expire(key, ttl)
            pipe.zadd(keys.enriching_due(), {table.entry: due_ms}, nx=True)
            pipe.expire(keys.enriching_due(), keys.seconds(keys.SCHEDULE_TTL))
            answers = await pipe.execute()
        return bool(answers[-2])

    async def claim(self, *, now_ms: int, lease_s: float, limit: int) -> TableClaim:
        """Claim up to ``limit`` due tables and read their records: two round trips."""
        args = {"now": now_ms, "lease": int(lease_s * 1000), "limit": limit}
        entries, lease, next_due = await self._claim(
            keys=[keys.enriching_due()], args=[json.dumps(args)]
        )
        items: list[TableLease] = []
        if entries:
            async with self.redis.pipeline(transaction=False) as pipe:
                for entry in entries:
                    pipe.hgetall(_record_key(str(entry)))
                records = await pipe.execute()
            items = [
                TableLease(str(e), int(lease), _load(r))
                for e, r in zip(entries, records, strict=True)
            ]
        return TableClaim(items, None if int(next_due) < 0 else int(next_due))

    async def settle(self, lease: TableLease, due_ms: int | None, seen: str = "") -> bool:
        """Re-read the table at ``due_ms``, noting the figures ``seen``; or stop following it
        (None). False when the lease was lost (another worker has it now)."""
        due = -1 if due_ms is None else due_ms
        args = {"entry": lease.entry, "lease": lease.lease_ms, "due": due, "seen": seen}
        done = await self._settle(
            keys=[keys.enriching_due(), _record_key(lease.entry)], args=[json.dumps(args)]
        )
        return bool(done)

    async def take_updates(self, n: int, *, per_minute: int, now_ms: int) -> int:
        """Take ``n`` slots of Slack's update allowance (``per_minute`` updates, all
        processes; -1: none kept); 0 when taken, else the ms until they would fit."""
        if per_minute < 0 or n <= 0:
            return 0
        args = {
            "now": now_ms,
            "window": WINDOW_MS,
            "limit": per_minute,
            "n": n,
            "member": unique_member(),
        }
        return int(await self._take_updates(keys=[keys.progress_budget()], args=[json.dumps(args)]))

    async def count(self) -> int:
        return int(await self.redis.zcard(keys.enriching_due()))
