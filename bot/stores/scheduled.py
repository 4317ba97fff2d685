"""Schedules made from Slack, when each one's runs are next read, and the claim that
posts each scheduled run once (across processes and restarts).

The claim of a run is a lease (``SET NX PX``) and a small record: the opener's intent,
then its ts, then ``done`` once the run is watched. A process that dies mid-way leaves the
record; the next one, after the lease, resumes from it (and looks for an opener that may
have been posted without its ts recorded, as a delivery does).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from bot.schedules.records import ScheduleRecord
from bot.stores import keys
from bot.stores.budget import now_ms

# Take the due schedules (score <= now), at most ``limit``, and push each one's next read
# ``pace_ms`` on: the first process to claim a schedule reads it, the others skip it.
_CLAIM_DUE_LUA = """
local args = cjson.decode(ARGV[1])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', args.now, 'LIMIT', 0, args.limit)
for _, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], 'XX', args.now + args.pace_ms, member)
end
return due
"""


@dataclass(frozen=True, slots=True)
class RunClaim:
    """A scheduled run taken by this process: what an earlier try left of it."""

    opener_ts: str  # "" until its thread was opened
    intent_ms: int  # when an opener was about to be posted (0: never)


def _member(team: str, schedule_id: str) -> str:
    return f"{team}|{schedule_id}"


def _load(raw: Any) -> ScheduleRecord | None:
    try:
        data = json.loads(raw)
        return ScheduleRecord(**{k: data[k] for k in ScheduleRecord.__slots__ if k in data})
    except (TypeError, ValueError, KeyError):
        return None


class ScheduleStore:
    def __init__(self, client: Any) -> None:
        self.redis = client
        self._claim_due = client.register_script(_CLAIM_DUE_LUA)

    async def add(self, record: ScheduleRecord, first_read_s: float) -> bool:
        """Keep a new schedule and read its runs first in ``first_read_s``; False when it
        was kept already (the same creation answered again), which changes nothing."""
        key = keys.schedules(record.team)
        member = _member(record.team, record.schedule_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(key, record.schedule_id, json.dumps(asdict(record), ensure_ascii=False))
            pipe.expire(key, keys.seconds(keys.SCHEDULES_TTL))
            due = now_ms() + int(first_read_s * 1000)
            pipe.zadd(keys.schedules_due(), {member: due}, nx=True)
            pipe.expire(keys.schedules_due(), keys.seconds(keys.SCHEDULES_TTL))
            added = await pipe.execute()
        return bool(added[0])

    async def get(self, team: str, schedule_id: str) -> ScheduleRecord | None:
        return _load(await self.redis.hget(keys.schedules(team), schedule_id))

    async def of_team(self, team: str) -> list[ScheduleRecord]:
        """The workspace's schedules, oldest first."""
        raw = await self.redis.hgetall(keys.schedules(team))
        found = [r for r in (_load(v) for v in raw.values()) if r is not None]
        return sorted(found, key=lambda r: r.created_at)

    async def remove(self, team: str, schedule_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(keys.schedules(team), schedule_id)
            pipe.zrem(keys.schedules_due(), _member(team, schedule_id))
            await pipe.execute()

    async def claim_due(self, pace_s: float, limit: int) -> list[tuple[str, str]]:
        """The schedules whose runs are due to be read, as (team, schedule id), each
        claimed by this call alone until ``pace_s`` from now."""
        args = {"now": now_ms(), "pace_ms": int(pace_s * 1000), "limit": limit}
        due = await self._claim_due(keys=[keys.schedules_due()], args=[json.dumps(args)])
        claimed = []
        for member in due:
            team, sep, schedule_id = str(member).rpartition("|")
            if sep and team and schedule_id:
                claimed.append((team, schedule_id))
        if claimed:
            # Read again on every claim: a schedule that is still read is still wanted.
            async with self.redis.pipeline(transaction=False) as pipe:
                for team in {t for t, _ in claimed}:
                    pipe.expire(keys.schedules(team), keys.seconds(keys.SCHEDULES_TTL))
                pipe.expire(keys.schedules_due(), keys.seconds(keys.SCHEDULES_TTL))
                await pipe.execute()
        return claimed

    async def read_soon(self, team: str, schedule_id: str, in_s: float) -> None:
        """Read a schedule's runs again in ``in_s`` (a run found but not yet posted)."""
        due = now_ms() + int(in_s * 1000)
        await self.redis.zadd(keys.schedules_due(), {_member(team, schedule_id): due}, xx=True)

    async def first_closed(self, team: str, schedule_id: str) -> bool:
        """Whether this is the first refusal of the schedule's channel since a run was
        last posted there (its maker is told once, not at every read)."""
        key = keys.schedule_closed(team, schedule_id)
        return bool(await self.redis.set(key, "1", nx=True, ex=keys.seconds(keys.SCHEDULES_TTL)))

    async def reopened(self, team: str, schedule_id: str) -> None:
        await self.redis.delete(keys.schedule_closed(team, schedule_id))

    # -- the claim of one scheduled run ------------------------------------------------

    async def done_runs(self, team: str, run_ids: list[str]) -> set[str]:
        """Which of ``run_ids`` were posted and are watched already (one round trip).
        Each marker read is kept another ``SCHEDULED_RUN_TTL``: a run still in the history
        read is still seen, and its marker must outlive that (a weekly schedule's newest 20
        runs span 20 weeks)."""
        ttl = keys.seconds(keys.SCHEDULED_RUN_TTL)
        async with self.redis.pipeline(transaction=False) as pipe:
            for run_id in run_ids:
                pipe.hget(keys.scheduled_run(team, run_id), "done")
                pipe.expire(keys.scheduled_run(team, run_id), ttl)
            found = (await pipe.execute())[::2]
        return {run_id for run_id, done in zip(run_ids, found, strict=True) if done}

    async def take_run(self, team: str, run_id: str, lease_s: float) -> RunClaim | None:
        """This process posts the run now (None: another does, or it was done)."""
        lease = keys.scheduled_run_lease(team, run_id)
        if not await self.redis.set(lease, "1", nx=True, px=int(lease_s * 1000)):
            return None
        state = await self.redis.hgetall(keys.scheduled_run(team, run_id))
        if state.get("done"):
            await self.redis.delete(lease)
            return None
        try:
            intent = int(state.get("intent") or 0)
        except ValueError:
            intent = 0
        return RunClaim(opener_ts=str(state.get("opener") or ""), intent_ms=intent)

    async def intend_opener(self, team: str, run_id: str) -> None:
        await self._mark(team, run_id, "intent", str(now_ms()))

    async def opened(self, team: str, run_id: str, opener_ts: str) -> None:
        await self._mark(team, run_id, "opener", opener_ts)

    async def let_go(self, team: str, run_id: str, *, posted: bool | None = None) -> None:
        """Give the run up for now (its thread could not be posted): tried again later.
        ``posted=False``: Slack refused the opener, so none exists: its intent goes too
        (nothing to look for before the next post)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            if posted is False:
                pipe.hdel(keys.scheduled_run(team, run_id), "intent")
            pipe.delete(keys.scheduled_run_lease(team, run_id))
            await pipe.execute()

    async def _mark(self, team: str, run_id: str, name: str, value: str) -> None:
        key = keys.scheduled_run(team, run_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, name, value)
            pipe.expire(key, keys.seconds(keys.SCHEDULED_RUN_TTL))
            await pipe.execute()


def mark_done_in(pipe: Any, team: str, run_id: str) -> None:
    """Queue, in the caller's MULTI, the marks that a scheduled run is watched: its
    record says ``done`` and its lease goes."""
    key = keys.scheduled_run(team, run_id)
    pipe.hset(key, "done", "1")
    pipe.expire(key, keys.seconds(keys.SCHEDULED_RUN_TTL))
    pipe.delete(keys.scheduled_run_lease(team, run_id))
