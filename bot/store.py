"""All Redis access: the state that matters lives here, never in a process.

Any process may die at any moment and another carries on, so every piece of state that
decides what happens next (which agent a thread talks to, which runs are in flight, what
was already posted or sent) is written here, under keys from ``bot.keys``, each with a TTL.

"First one wins" is ``SET NX``/``HSETNX``; the watcher's schedule is a sorted set scored by
due time, claimed atomically with a short Lua script that also takes a lease (the claim
moves the run's due time to the end of the lease, so a process that dies simply lets the
lease run out and the run becomes due again for everyone).
"""

from __future__ import annotations

import itertools
import json
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

import redis.asyncio as redis

from bot import keys

log = logging.getLogger(__name__)

# Take up to ``n`` slots of the shared Origami request budget (a sliding window of
# ``window`` ms holding at most ``limit`` requests). Returns the slots taken and, when fewer
# than ``n``, how long (ms) until the oldest entry leaves the window and a slot frees up.
# A negative limit means no budget is kept (tests, one-off tools).
TAKE_SLOTS_FN = """
local function take_slots(key, now, window, limit, n, member)
  if limit < 0 then return n, 0 end
  if n <= 0 then return 0, 0 end
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local used = redis.call('ZCARD', key)
  local taken = math.min(math.max(limit - used, 0), n)
  for i = 1, taken do
    redis.call('ZADD', key, now, member .. ':' .. i)
  end
  if taken > 0 then redis.call('PEXPIRE', key, window * 2) end
  if taken == n then return taken, 0 end
  local nth = redis.call('ZRANGE', key, used + taken - limit, used + taken - limit, 'WITHSCORES')
  local wait = 1
  if nth[2] then wait = math.max(1, tonumber(nth[2]) + window - now) end
  return taken, wait
end
"""

# Claim: move due members to the end of a lease and return them, in one round trip, with
# what polling them needs: each run's record and the length of its thread's queue (for the
# progress line). Also returned: the earliest due time left (so an idle loop knows when to
# look again without asking) and, when the request budget held runs back, how long until
# it has room. Each run claimed takes its poll's budget slot here; prompts kept for a retry
# (``@defer-`` members) take theirs when they are sent; a kept prompt's claim is counted
# on its record (``claims``), which comes back in place of a run's record, so the first
# claim of a prompt handed off by the process that took it knows nothing was posted for
# it yet. Last, the progress updates: the
# first runs of the batch, as many as Slack's ``chat.update`` allowance has room for
# (KEYS[3], ARGV[7] a minute), are flagged to show theirs; the others skip it this time.
_CLAIM_LUA = (
    keys.LUA_KEY_FNS
    + TAKE_SLOTS_FN
    + """
local now = tonumber(ARGV[1])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
local runs = 0
for _, member in ipairs(due) do
  if not string.find(member, ':@defer-', 1, true) then runs = runs + 1 end
end
local taken, wait = take_slots(KEYS[2], now, tonumber(ARGV[4]), tonumber(ARGV[5]), runs, ARGV[6])
local lease = now + tonumber(ARGV[2])
local kept_lease = now + tonumber(ARGV[8])
local claimed, records, queued = {}, {}, {}
for _, member in ipairs(due) do
  local deferred = string.find(member, ':@defer-', 1, true)
  if deferred or taken > 0 then
    redis.call('ZADD', KEYS[1], deferred and kept_lease or lease, member)
    claimed[#claimed + 1] = member
    local record, waiting = {}, 0
    if deferred then
      local team_part, deferred_id = string.match(member, '^([^:]*):@defer%-(.*)$')
      local dkey = deferred_key(team_part, deferred_id)
      if redis.call('EXISTS', dkey) == 1 then
        -- A prompt kept before claims were counted was held by its taker: count it.
        redis.call('HSETNX', dkey, 'claims', 1)
        redis.call('HINCRBY', dkey, 'claims', 1)
        record = redis.call('HGETALL', dkey)
      end
    else
      taken = taken - 1
      local team_part, run_id = string.match(member, '^([^:]*):(.*)$')
      record = redis.call('HGETALL', run_key(team_part, run_id))
      local fields = {}
      for i = 1, #record, 2 do fields[record[i]] = record[i + 1] end
      if fields['channel'] and fields['thread_ts'] then
        waiting = redis.call('LLEN', pending_key(team_part, fields['channel'], fields['thread_ts']))
      end
    end
    records[#records + 1] = record
    queued[#queued + 1] = waiting
  end
end
local polled = 0
for i, record in ipairs(records) do
  if #record > 0 and not string.find(claimed[i], ':@defer-', 1, true) then polled = polled + 1 end
end
local shows = take_slots(KEYS[3], now, 60000, tonumber(ARGV[7]), polled, ARGV[6] .. ':p')
local show = {}
for i, record in ipairs(records) do
  if #record > 0 and shows > 0 and not string.find(claimed[i], ':@defer-', 1, true) then
    show[i] = 1
    shows = shows - 1
  else
    show[i] = 0
  end
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local next_due = -1
if first[2] then next_due = tonumber(first[2]) end
return {lease, claimed, records, queued, next_due, wait, show, kept_lease}
"""
)

# Reschedule (or drop, when the new score is '-') each member still held under the
# caller's lease; a member someone else re-claimed after our lease ran out is left alone.
# Returns how many changed and the earliest due time left.
_SETTLE_LUA = """
local done = 0
for i = 1, #ARGV, 3 do
  local member, lease, due = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local score = redis.call('ZSCORE', KEYS[1], member)
  if score and tonumber(score) == tonumber(lease) then
    if due == '-' then
      redis.call('ZREM', KEYS[1], member)
    else
      redis.call('ZADD', KEYS[1], tonumber(due), member)
    end
    done = done + 1
  end
end
redis.call('EXPIRE', KEYS[1], tonumber(KEYS[2]))
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local next_due = -1
if first[2] then next_due = tonumber(first[2]) end
return {done, next_due}
"""

# Record one answer to one question, unless it is already answered or the answers were
# already sent; returns 1 when this call recorded it.
_ANSWER_LUA = """
if redis.call('HEXISTS', KEYS[1], 'sent') == 1 then return -1 end
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
return 1
"""

# The run ended: mark the thread idle and hand back everything queued behind it. Atomic
# with the begin script, so a prompt is never queued just after the queue was drained.
_RELEASE_LUA = """
if #ARGV > 2 then
  -- The delivery's last records (posted parts, "final"), written in the same step.
  for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]) end
  redis.call('EXPIRE', KEYS[3], tonumber(ARGV[2]))
end
if redis.call('HGET', KEYS[1], 'active_run') ~= ARGV[1] then return {} end
redis.call('HDEL', KEYS[1], 'active_run')
local items = redis.call('LRANGE', KEYS[2], 0, -1)
redis.call('DEL', KEYS[2])
return items
"""


# A person's prompt arrives in a thread: decide, atomically, what it is and keep it.
#   duplicate  the Slack message (KEYS[6]) was claimed before: a retry or the second of
#            its two events (app_mention and message); nothing written;
#   unknown  the thread has no agent and the prompt may not start one: nothing written;
#   queued   the thread is busy (a run, a kept prompt, or its agent being created): the
#            prompt joins the thread's queue;
#   start    the thread is new: this prompt opens it (its starter) and will create the agent;
#   follow   the thread's agent is idle: this prompt will be its next run.
# For start and follow the prompt is kept (``Deferred``, scheduled ``hold`` ms ahead, so any
# process sends it again if this one dies before Origami's answer is recorded), the thread
# is marked busy with it, and the POST's slot of the request budget is taken (``admitted``
# on the kept prompt): one round trip for all of it. A prompt handed off to the watchers
# (``hold`` 0, sent by whichever claims it first) is announced on ARGV[14], so idle
# watchers claim it at once instead of at their next look.
_BEGIN_LUA = (
    TAKE_SLOTS_FN
    + """
if ARGV[13] ~= '0' and not redis.call('SET', KEYS[6], '1', 'NX', 'EX', tonumber(ARGV[13])) then
  return {'duplicate', '', 0, ''}
end
local t = redis.call('HMGET', KEYS[1], 'agent_id', 'active_run', 'starter')
local agent, active, starter = t[1], t[2], t[3]
if agent == '' then agent = false end
local kind
if not agent and not starter then
  if ARGV[1] ~= '1' then return {'unknown', '', 0, ''} end
  redis.call('HSET', KEYS[1], 'starter', ARGV[2])
  kind = 'start'
elseif active or not agent then
  -- The queue entry is built here, from the prompt's fields: only a queued prompt needs it.
  local f = {}
  for i = 15, #ARGV, 2 do f[ARGV[i]] = ARGV[i + 1] end
  local entry = cjson.encode({text = f['text'], user_id = f['user_id'], cause = f['cause']})
  local n = redis.call('RPUSH', KEYS[2], entry)
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[4]))
  return {'queued', '', n, active or ''}
else
  kind = 'follow'
end
redis.call('HSET', KEYS[1], 'active_run', ARGV[5])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
local fields = {'kind', kind, 'agent_id', agent or ''}
for i = 15, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[3], unpack(fields))
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[4]))
redis.call('ZADD', KEYS[4], tonumber(ARGV[7]), ARGV[6])
redis.call('EXPIRE', KEYS[4], tonumber(ARGV[8]))
local _, wait = take_slots(
  KEYS[5], tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11]), 1, ARGV[12])
if wait == 0 then redis.call('HSET', KEYS[3], 'admitted', '1') end
if ARGV[14] ~= '' then redis.call('PUBLISH', ARGV[14], ARGV[6]) end
return {kind, agent or '', wait, ''}
"""
)


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True)
class ThreadState:
    team: str
    channel: str
    thread_ts: str
    agent_id: str | None
    active_run: str | None
    starter: str | None


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A run the bot started, and where in Slack it is shown."""

    team: str
    run_id: str
    agent_id: str
    channel: str
    thread_ts: str
    progress_ts: str
    user_id: str
    prompt: str
    started_at: float = field(default_factory=time.time)

    def to_hash(self) -> dict[str, str]:
        # Not ``asdict``: it deep-copies every field, and this runs for every run and poll.
        return {k: str(getattr(self, k)) for k in self.__slots__}

    @classmethod
    def from_hash(cls, data: Mapping[str, str]) -> RunRecord:
        return cls(
            team=data["team"],
            run_id=data["run_id"],
            agent_id=data["agent_id"],
            channel=data["channel"],
            thread_ts=data["thread_ts"],
            progress_ts=data.get("progress_ts", ""),
            user_id=data.get("user_id", ""),
            prompt=data.get("prompt", ""),
            started_at=float(data.get("started_at", "0") or 0),
        )


@dataclass(frozen=True, slots=True)
class Deferred:
    """A prompt waiting for a free Origami run slot (429 CONCURRENT_LIMIT_EXCEEDED)."""

    id: str
    kind: str  # "start": create the agent; "follow": a run on ``agent_id``
    team: str
    channel: str
    thread_ts: str
    agent_id: str
    text: str
    user_id: str
    cause: str
    attempt: int  # which Idempotency-Key (a new one after each refusal)
    tries: int  # how many times it was tried so far
    ack_ts: str
    # Its first POST's slot of the request budget was taken when it was kept.
    admitted: bool = False
    # The processes that took it on: the one that kept it, unless it handed it off to the
    # watchers (``begin_prompt`` with no hold), then each watcher that claimed it.
    claims: int = 0

    @property
    def first_send(self) -> bool:
        """Its first taker is sending it: nobody acknowledged it or sent it yet. A later
        one may find an earlier taker's acknowledgement, and must look for it."""
        return self.claims == 1 and self.tries == 0

    @property
    def marker(self) -> str:
        return keys.DEFERRED_MARK + self.id

    def to_hash(self) -> dict[str, str]:
        return {k: _flat(getattr(self, k)) for k in self.__slots__}

    @classmethod
    def from_hash(cls, data: Mapping[str, str]) -> Deferred:
        return cls(
            id=data["id"],
            kind=data["kind"],
            team=data["team"],
            channel=data["channel"],
            thread_ts=data["thread_ts"],
            agent_id=data.get("agent_id", ""),
            text=data["text"],
            user_id=data.get("user_id", ""),
            cause=data["cause"],
            attempt=int(data.get("attempt", "1")),
            tries=int(data.get("tries", "1")),
            ack_ts=data.get("ack_ts", ""),
            admitted=data.get("admitted") == "1",
            claims=int(data.get("claims", "0")),
        )


@dataclass(frozen=True, slots=True)
class Claim:
    """A run this process may poll until ``lease_ms`` (epoch ms)."""

    team: str
    run_id: str
    lease_ms: int

    @property
    def member(self) -> str:
        return keys.schedule_member(self.team, self.run_id)

    @property
    def deferred_id(self) -> str | None:
        """Set when this claim is a deferred prompt rather than a run."""
        if self.run_id.startswith(keys.DEFERRED_MARK):
            return self.run_id.removeprefix(keys.DEFERRED_MARK)
        return None


@dataclass(frozen=True, slots=True)
class QuestionSet:
    team: str
    run_id: str
    agent_id: str
    channel: str
    thread_ts: str
    message_ts: str
    questions: list[dict[str, Any]]
    answers: dict[int, dict[str, str]]
    sent: bool


@dataclass(frozen=True, slots=True)
class BudgetRule:
    """The shared Origami request budget, for scripts that take its slots themselves."""

    per_minute: int  # what a person's POST may use
    poll_limit: int  # what polls may use (the rest is kept for people)
    window_ms: int = 60_000


@dataclass(frozen=True, slots=True)
class ClaimBatch:
    """What one claim call handed this process: the runs, and when to look again."""

    claims: list[Claim]
    records: list[RunRecord | None]  # the run's record (None for a kept prompt, or expired)
    kept: list[Deferred | None]  # the kept prompt's record (None for a run, or expired)
    queued: list[int]  # prompts queued behind each run
    show_progress: list[bool]  # whether each run may update its progress message now
    next_due_ms: int | None
    budget_wait_ms: int  # > 0 when the request budget held due runs back


@dataclass(frozen=True, slots=True)
class Begun:
    """What ``Store.begin_prompt`` made of a prompt (see ``_BEGIN_LUA``)."""

    outcome: str  # "duplicate" | "unknown" | "queued" | "start" | "follow"
    agent_id: str
    position: int  # place in the queue ("queued")
    active_run: str | None  # what the thread is busy with ("queued")
    budget_wait_ms: int  # 0 when the POST's budget slot was taken


class Store:
    def __init__(self, client: redis.Redis, *, embedded: bool = False) -> None:
        self.redis = client
        self.embedded = embedded
        self._claim = client.register_script(_CLAIM_LUA)
        self._settle = client.register_script(_SETTLE_LUA)
        self._answer = client.register_script(_ANSWER_LUA)
        self._release = client.register_script(_RELEASE_LUA)
        self._begin = client.register_script(_BEGIN_LUA)

    async def _hgetall(self, key: str) -> dict[str, str]:
        # decode_responses=True: every reply is str, which redis-py's types cannot express.
        return cast(dict[str, str], await self.redis.hgetall(key))

    async def close(self) -> None:
        await self.redis.aclose()

    async def ping(self) -> bool:
        try:
            return bool(await self.redis.ping())
        except (redis.RedisError, OSError):
            return False

    # -- "first one wins" markers -------------------------------------------------------

    async def claim(self, key: str, ttl: timedelta, value: str = "1") -> bool:
        return bool(await self.redis.set(key, value, nx=True, ex=keys.seconds(ttl)))

    async def claim_event(self, team: str, event_id: str) -> bool:
        return await self.claim(keys.event(team, event_id), keys.EVENT_TTL)

    async def claim_action(self, team: str, fingerprint: str, ttl: timedelta | None = None) -> bool:
        return await self.claim(keys.action(team, fingerprint), ttl or keys.ACTION_TTL)

    # -- threads ------------------------------------------------------------------------

    async def get_thread(self, team: str, channel: str, thread_ts: str) -> ThreadState | None:
        data = await self._hgetall(keys.thread(team, channel, thread_ts))
        if not data:
            return None
        return ThreadState(
            team=team,
            channel=channel,
            thread_ts=thread_ts,
            agent_id=data.get("agent_id") or None,
            active_run=data.get("active_run") or None,
            starter=data.get("starter") or None,
        )

    async def forget_thread(self, team: str, channel: str, thread_ts: str) -> None:
        await self.redis.delete(keys.thread(team, channel, thread_ts))

    async def bind_agent(self, team: str, channel: str, thread_ts: str, agent_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            _bind(pipe, team, channel, thread_ts, agent_id)
            await pipe.execute()

    async def thread_of_agent(self, team: str, agent_id: str) -> tuple[str, str] | None:
        value = await self.redis.get(keys.agent(team, agent_id))
        if not value:
            return None
        channel, _, thread_ts = str(value).partition(":")
        return channel, thread_ts

    # -- runs and the watcher's schedule ----------------------------------------------------

    async def watch_run(self, record: RunRecord, first_poll_in: float) -> None:
        """Save a run, mark it the thread's active run and schedule its first poll."""
        async with self.redis.pipeline(transaction=True) as pipe:
            _watch(pipe, record, first_poll_in)
            await pipe.execute()

    async def begin_prompt(
        self,
        item: Deferred,
        *,
        may_start: bool,
        hold_s: float,
        budget: BudgetRule | None,
        event: str | None = None,
    ) -> Begun:
        """Queue, keep or ignore a person's prompt in one round trip (``_BEGIN_LUA``).

        ``item.kind`` and ``item.agent_id`` are decided here, from the thread. ``event``:
        what the Slack event is about, claimed here first (as ``claim_event`` would).

        ``hold_s``: how long the caller holds the prompt while it sends it itself; 0 hands
        it off to the watchers, announced at once, and the first one to claim it sends it
        (the caller then counts as none of its ``claims``)."""
        tkey = keys.thread(item.team, item.channel, item.thread_ts)
        pkey = keys.pending(item.team, item.channel, item.thread_ts)
        now = now_ms()
        hand_off = hold_s == 0
        fields = ["claims", "0" if hand_off else "1"]
        for name, value in item.to_hash().items():
            if name not in ("kind", "agent_id", "admitted", "claims"):
                fields += [name, value]
        outcome, agent_id, number, active = await self._begin(
            keys=[
                tkey,
                pkey,
                keys.deferred(item.team, item.id),
                keys.schedule(),
                keys.origami_budget(),
                keys.event(item.team, event or "-"),
            ],
            args=[
                "1" if may_start else "0",
                item.user_id,
                str(keys.seconds(keys.THREAD_TTL)),
                str(keys.seconds(keys.PENDING_TTL)),
                item.marker,
                keys.schedule_member(item.team, item.marker),
                str(now + int(hold_s * 1000)),
                str(keys.seconds(keys.SCHEDULE_TTL)),
                str(now),
                *_budget_args(budget, user=True),
                unique_member(),
                str(keys.seconds(keys.EVENT_TTL)) if event else "0",
                keys.handoff_channel() if hand_off else "",
                *fields,
            ],
        )
        queued = outcome == "queued"
        return Begun(
            outcome=str(outcome),
            agent_id=str(agent_id),
            position=int(number) if queued else 0,
            active_run=str(active) or None,
            budget_wait_ms=0 if queued else int(number),
        )

    async def started(
        self, record: RunRecord, first_poll_in: float, *, new_agent: bool, deferred_id: str
    ) -> None:
        """Origami took a kept prompt: bind the new agent to its thread (and back), watch
        the run, and drop the kept prompt, all at once (one MULTI, one round trip)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            if new_agent:
                _bind(pipe, record.team, record.channel, record.thread_ts, record.agent_id)
            _watch(pipe, record, first_poll_in)
            _drop_deferred(pipe, record.team, deferred_id)
            await pipe.execute()

    async def defer(self, item: Deferred, retry_in: float) -> None:
        """Keep a prompt to send again later; the thread counts as busy meanwhile, so
        replies queue behind it instead of overtaking it."""
        dkey = keys.deferred(item.team, item.id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(dkey, mapping=cast(Any, item.to_hash()))
            pipe.expire(dkey, keys.seconds(keys.PENDING_TTL))
            _busy_with(pipe, item.team, item.channel, item.thread_ts, item.marker, retry_in)
            await pipe.execute()

    async def get_deferred(self, team: str, deferred_id: str) -> Deferred | None:
        data = await self._hgetall(keys.deferred(team, deferred_id))
        return Deferred.from_hash(data) if data else None

    async def drop_deferred(self, team: str, deferred_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            _drop_deferred(pipe, team, deferred_id)
            await pipe.execute()

    async def get_run(self, team: str, run_id: str) -> RunRecord | None:
        data = await self._hgetall(keys.run(team, run_id))
        return RunRecord.from_hash(data) if data else None

    async def claim_due(
        self,
        *,
        lease: float,
        limit: int,
        now: int | None = None,
        budget: BudgetRule | None = None,
        progress_per_minute: int = -1,
        kept_lease: float | None = None,
    ) -> ClaimBatch:
        """Claim up to ``limit`` due members for ``lease`` seconds (see ``_CLAIM_LUA``);
        kept prompts for ``kept_lease`` seconds (default ``lease``): sending one may take
        the Origami client's whole retry budget.

        ``progress_per_minute``: progress updates allowed a minute (-1: no limit)."""
        t = now_ms() if now is None else now
        kept_s = lease if kept_lease is None else kept_lease
        lease_ms, members, records, queued, next_due, wait, show, kept_ms = await self._claim(
            keys=[keys.schedule(), keys.origami_budget(), keys.progress_budget()],
            args=[
                str(t),
                str(int(lease * 1000)),
                str(limit),
                *_budget_args(budget, user=False),
                unique_member(),
                str(progress_per_minute),
                str(int(kept_s * 1000)),
            ],
        )
        claims = []
        for member in members:
            team, run_id = keys.split_schedule_member(str(member))
            claim = Claim(team=team, run_id=run_id, lease_ms=int(lease_ms))
            if claim.deferred_id is not None:
                claim = Claim(team=team, run_id=run_id, lease_ms=int(kept_ms))
            claims.append(claim)
        kept = [
            _deferred_from_flat(r) if c.deferred_id is not None and r else None
            for c, r in zip(claims, records, strict=True)
        ]
        return ClaimBatch(
            claims=claims,
            records=[_record_from_flat(r) for r in records],
            kept=kept,
            queued=[int(n) for n in queued],
            show_progress=[bool(int(f)) for f in show],
            next_due_ms=None if int(next_due) < 0 else int(next_due),
            budget_wait_ms=int(wait),
        )

    async def settle(self, outcomes: Sequence[tuple[Claim, int | None]]) -> tuple[int, int | None]:
        """Reschedule each claimed run to its new due time (epoch ms), or drop it from the
        schedule (``None``), in one round trip; only runs still under our lease change.
        Returns how many changed and the earliest due time left."""
        if not outcomes:
            return 0, None
        args: list[str] = []
        for claim, due in outcomes:
            args += [claim.member, str(claim.lease_ms), "-" if due is None else str(due)]
        done, next_due = await self._settle(
            keys=[keys.schedule(), str(keys.seconds(keys.SCHEDULE_TTL))], args=args
        )
        return int(done), None if int(next_due) < 0 else int(next_due)

    async def extend_lease(self, claim: Claim, lease: float) -> Claim | None:
        """Hold a run longer (a slow delivery); None when the lease was already lost."""
        new_lease = now_ms() + int(lease * 1000)
        done, _ = await self.settle([(claim, new_lease)])
        return Claim(claim.team, claim.run_id, new_lease) if done else None

    async def scheduled_count(self) -> int:
        return int(await self.redis.zcard(keys.schedule()))

    async def next_due_ms(self) -> int | None:
        first = await self.redis.zrange(keys.schedule(), 0, 0, withscores=True)
        return int(first[0][1]) if first else None

    # -- delivery of a finished run ------------------------------------------------------

    async def begin_delivery(
        self,
        team: str,
        run_id: str,
        *,
        elapsed: float,
        run_fields: Mapping[str, str],
        first_intent: str,
    ) -> dict[str, str]:
        """Start (or resume) a finished run's delivery, in one MULTI: keep ``elapsed``
        unless an earlier delivery kept one, save ``run_fields`` on the run, and record
        ``first_intent`` (the first post's intent; see ``SlackPresenter.result``).

        Returns every record an earlier delivery left (a crash cut it short), with the
        ``elapsed`` kept; ``first_intent`` is in it only if an earlier delivery wrote it."""
        dkey = keys.delivery(team, run_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(dkey)
            pipe.hsetnx(dkey, "elapsed", f"{elapsed:.1f}")
            pipe.hsetnx(dkey, first_intent, "1")
            pipe.expire(dkey, keys.seconds(keys.DELIVERY_TTL))
            pipe.hset(keys.run(team, run_id), mapping=cast(Any, dict(run_fields)))
            before, *_ = await pipe.execute()
        posted = cast(dict[str, str], before)
        posted.setdefault("elapsed", f"{elapsed:.1f}")
        return posted

    async def record_parts(self, team: str, run_id: str, parts: Mapping[str, str]) -> None:
        key = keys.delivery(team, run_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=cast(Any, dict(parts)))
            pipe.expire(key, keys.seconds(keys.DELIVERY_TTL))
            await pipe.execute()

    # -- questions ----------------------------------------------------------------------

    async def save_questions(self, qs: QuestionSet) -> None:
        key = keys.questions(qs.team, qs.run_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(
                key,
                mapping={
                    "agent_id": qs.agent_id,
                    "channel": qs.channel,
                    "thread_ts": qs.thread_ts,
                    "message_ts": qs.message_ts,
                    "questions": json.dumps(qs.questions),
                },
            )
            pipe.expire(key, keys.seconds(keys.QUESTIONS_TTL))
            await pipe.execute()

    async def get_questions(self, team: str, run_id: str) -> QuestionSet | None:
        data = await self._hgetall(keys.questions(team, run_id))
        if not data or "questions" not in data:
            return None
        answers = {
            int(k.removeprefix("a:")): json.loads(v) for k, v in data.items() if k.startswith("a:")
        }
        return QuestionSet(
            team=team,
            run_id=run_id,
            agent_id=data["agent_id"],
            channel=data["channel"],
            thread_ts=data["thread_ts"],
            message_ts=data.get("message_ts", ""),
            questions=json.loads(data["questions"]),
            answers=answers,
            sent="sent" in data,
        )

    async def record_answer(
        self, team: str, run_id: str, question: int, user_id: str, text: str
    ) -> int:
        """1 recorded, 0 that question was already answered, -1 answers already sent."""
        result = await self._answer(
            keys=[keys.questions(team, run_id)],
            args=[f"a:{question}", json.dumps({"user_id": user_id, "text": text})],
        )
        return int(result)

    async def mark_answers_sent(self, team: str, run_id: str, by: str) -> bool:
        return bool(await self.redis.hsetnx(keys.questions(team, run_id), "sent", by))

    # -- prompts waiting to be sent -------------------------------------------------------

    async def release_thread(
        self,
        team: str,
        channel: str,
        thread_ts: str,
        run_id: str,
        delivered: Mapping[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """Mark the thread idle if ``run_id`` is what it was busy with, and hand back what
        was queued behind it. ``delivered``: the run's last delivery records, written in
        the same step."""
        parts: list[str] = []
        for part, value in (delivered or {}).items():
            parts += [part, value]
        items = await self._release(
            keys=[
                keys.thread(team, channel, thread_ts),
                keys.pending(team, channel, thread_ts),
                keys.delivery(team, run_id),
            ],
            args=[run_id, str(keys.seconds(keys.DELIVERY_TTL)), *parts],
        )
        return [json.loads(x) for x in items]

    async def run_field(self, team: str, run_id: str, name: str) -> str | None:
        value = await self.redis.hget(keys.run(team, run_id), name)
        return str(value) if value is not None else None

    async def take_pending(self, team: str, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        key = keys.pending(team, channel, thread_ts)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lrange(key, 0, -1)
            pipe.delete(key)
            items, _ = await pipe.execute()
        return [json.loads(x) for x in items]


def _bind(pipe: Any, team: str, channel: str, thread_ts: str, agent_id: str) -> None:
    tkey = keys.thread(team, channel, thread_ts)
    ttl = keys.seconds(keys.THREAD_TTL)
    pipe.hset(tkey, "agent_id", agent_id)
    pipe.expire(tkey, ttl)
    pipe.set(keys.agent(team, agent_id), f"{channel}:{thread_ts}", ex=ttl)


def _watch(pipe: Any, record: RunRecord, first_poll_in: float) -> None:
    rkey = keys.run(record.team, record.run_id)
    pipe.hset(rkey, mapping=record.to_hash())
    pipe.expire(rkey, keys.seconds(keys.RUN_TTL))
    _busy_with(pipe, record.team, record.channel, record.thread_ts, record.run_id, first_poll_in)


def _busy_with(
    pipe: Any, team: str, channel: str, thread_ts: str, active: str, due_in: float
) -> None:
    """Mark the thread busy with ``active`` (a run, or a kept prompt's marker) and schedule
    ``active`` for the watcher ``due_in`` seconds from now."""
    tkey = keys.thread(team, channel, thread_ts)
    pipe.hset(tkey, "active_run", active)
    pipe.expire(tkey, keys.seconds(keys.THREAD_TTL))
    due = now_ms() + int(due_in * 1000)
    pipe.zadd(keys.schedule(), {keys.schedule_member(team, active): due})
    pipe.expire(keys.schedule(), keys.seconds(keys.SCHEDULE_TTL))


def _drop_deferred(pipe: Any, team: str, deferred_id: str) -> None:
    pipe.delete(keys.deferred(team, deferred_id))
    pipe.zrem(keys.schedule(), keys.schedule_member(team, keys.DEFERRED_MARK + deferred_id))


def _budget_args(budget: BudgetRule | None, *, user: bool) -> list[str]:
    """Window and limit for ``take_slots``; a limit of -1 takes no slot (no budget kept)."""
    if budget is None:
        return ["60000", "-1"]
    return [str(budget.window_ms), str(budget.per_minute if user else budget.poll_limit)]


_PROCESS = uuid.uuid4().hex[:12]
_counter = itertools.count()


def unique_member() -> str:
    """A budget entry's id, unique across calls and processes; cheaper than a uuid4."""
    return f"{_PROCESS}-{next(_counter)}"


def _flat(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _deferred_from_flat(flat: Sequence[str]) -> Deferred | None:
    data = dict(zip(flat[::2], flat[1::2], strict=True))
    return Deferred.from_hash(data) if "id" in data and "text" in data else None


def _record_from_flat(flat: Sequence[str]) -> RunRecord | None:
    if not flat:
        return None
    data = dict(zip(flat[::2], flat[1::2], strict=True))
    return RunRecord.from_hash(data) if "run_id" in data else None


def connect(url: str | None) -> Store:
    """A store on ``url``; with no URL, an embedded in-process Redis (fakeredis with Lua)."""
    if url:
        # The watcher polls up to 200 runs at once, each with its own Redis calls, and
        # Slack events come in meanwhile: past ``max_connections`` a caller waits for a
        # free connection (blocking pool) instead of failing with "Too many connections".
        # No periodic health check: it costs a PING round trip on a connection that sat
        # idle, and the pool already replaces a connection the server closed (it checks
        # each one for EOF as it hands it out).
        pool = redis.BlockingConnectionPool.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=5,
            socket_timeout=10,
            retry_on_timeout=True,
            max_connections=100,
            timeout=10,
        )
        return Store(redis.Redis.from_pool(pool))
    import fakeredis

    log.warning(
        "REDIS_URL is not set: using an embedded in-process store. Nothing survives a "
        "restart and no other process shares it; set REDIS_URL for real use."
    )
    return Store(fakeredis.aioredis.FakeRedis(decode_responses=True), embedded=True)
