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

import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any, cast

import redis.asyncio as redis

from bot import keys

log = logging.getLogger(__name__)

# Claim: move every due member to the end of its lease and return them with that lease.
_CLAIM_LUA = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local lease = tonumber(ARGV[1]) + tonumber(ARGV[2])
for _, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], lease, member)
end
return {lease, due}
"""

# Reschedule (or drop, when the new score is '-') each member still held under the
# caller's lease; a member someone else re-claimed after our lease ran out is left alone.
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
return done
"""

# Record one answer to one question, unless it is already answered or the answers were
# already sent; returns 1 when this call recorded it.
_ANSWER_LUA = """
if redis.call('HEXISTS', KEYS[1], 'sent') == 1 then return -1 end
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
return 1
"""

# Queue a prompt behind the thread's active run (or its agent being created). Atomic with
# release below, so a prompt is never pushed just after the queue was drained.
_ENQUEUE_IF_BUSY_LUA = """
local busy = redis.call('HEXISTS', KEYS[1], 'active_run') == 1
if not busy and redis.call('HEXISTS', KEYS[1], 'agent_id') == 1 then
  return 0
end
local n = redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[2]))
return n
"""

# The run ended: mark the thread idle and hand back everything queued behind it.
_RELEASE_LUA = """
if redis.call('HGET', KEYS[1], 'active_run') ~= ARGV[1] then return {} end
redis.call('HDEL', KEYS[1], 'active_run')
local items = redis.call('LRANGE', KEYS[2], 0, -1)
redis.call('DEL', KEYS[2])
return items
"""


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
        return {k: str(v) for k, v in asdict(self).items()}

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

    @property
    def marker(self) -> str:
        return keys.DEFERRED_MARK + self.id

    def to_hash(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}

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


class Store:
    def __init__(self, client: redis.Redis, *, embedded: bool = False) -> None:
        self.redis = client
        self.embedded = embedded
        self._claim = client.register_script(_CLAIM_LUA)
        self._settle = client.register_script(_SETTLE_LUA)
        self._answer = client.register_script(_ANSWER_LUA)
        self._enqueue = client.register_script(_ENQUEUE_IF_BUSY_LUA)
        self._release = client.register_script(_RELEASE_LUA)

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

    async def open_thread(self, team: str, channel: str, thread_ts: str, user_id: str) -> bool:
        """Reserve a thread for a new agent; False when the thread already has one (or is
        getting one), so two mentions racing in one thread create one agent."""
        key = keys.thread(team, channel, thread_ts)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(key, "starter", user_id)
            pipe.expire(key, keys.seconds(keys.THREAD_TTL))
            created, _ = await pipe.execute()
        return bool(created)

    async def forget_thread(self, team: str, channel: str, thread_ts: str) -> None:
        await self.redis.delete(keys.thread(team, channel, thread_ts))

    async def bind_agent(self, team: str, channel: str, thread_ts: str, agent_id: str) -> None:
        tkey = keys.thread(team, channel, thread_ts)
        ttl = keys.seconds(keys.THREAD_TTL)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(tkey, "agent_id", agent_id)
            pipe.expire(tkey, ttl)
            pipe.set(keys.agent(team, agent_id), f"{channel}:{thread_ts}", ex=ttl)
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
        rkey = keys.run(record.team, record.run_id)
        tkey = keys.thread(record.team, record.channel, record.thread_ts)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(rkey, mapping=cast(Any, record.to_hash()))
            pipe.expire(rkey, keys.seconds(keys.RUN_TTL))
            pipe.hset(tkey, "active_run", record.run_id)
            pipe.expire(tkey, keys.seconds(keys.THREAD_TTL))
            pipe.zadd(
                keys.schedule(),
                {
                    keys.schedule_member(record.team, record.run_id): now_ms()
                    + int(first_poll_in * 1000)
                },
            )
            pipe.expire(keys.schedule(), keys.seconds(keys.SCHEDULE_TTL))
            await pipe.execute()

    async def defer(self, item: Deferred, retry_in: float) -> None:
        """Keep a prompt to send again later; the thread counts as busy meanwhile, so
        replies queue behind it instead of overtaking it."""
        dkey = keys.deferred(item.team, item.id)
        tkey = keys.thread(item.team, item.channel, item.thread_ts)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(dkey, mapping=cast(Any, item.to_hash()))
            pipe.expire(dkey, keys.seconds(keys.PENDING_TTL))
            pipe.hset(tkey, "active_run", item.marker)
            pipe.expire(tkey, keys.seconds(keys.THREAD_TTL))
            due = now_ms() + int(retry_in * 1000)
            pipe.zadd(keys.schedule(), {keys.schedule_member(item.team, item.marker): due})
            pipe.expire(keys.schedule(), keys.seconds(keys.SCHEDULE_TTL))
            await pipe.execute()

    async def get_deferred(self, team: str, deferred_id: str) -> Deferred | None:
        data = await self._hgetall(keys.deferred(team, deferred_id))
        return Deferred.from_hash(data) if data else None

    async def drop_deferred(self, team: str, deferred_id: str) -> None:
        member = keys.schedule_member(team, keys.DEFERRED_MARK + deferred_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.deferred(team, deferred_id))
            pipe.zrem(keys.schedule(), member)
            await pipe.execute()

    async def get_run(self, team: str, run_id: str) -> RunRecord | None:
        data = await self._hgetall(keys.run(team, run_id))
        return RunRecord.from_hash(data) if data else None

    async def get_runs(self, claims: Sequence[Claim]) -> list[RunRecord | None]:
        if not claims:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for claim in claims:
                pipe.hgetall(keys.run(claim.team, claim.run_id))
            rows = await pipe.execute()
        return [RunRecord.from_hash(row) if row else None for row in rows]

    async def set_run_fields(self, team: str, run_id: str, fields: Mapping[str, str]) -> None:
        await self.redis.hset(keys.run(team, run_id), mapping=cast(Any, dict(fields)))

    async def claim_due(self, *, lease: float, limit: int, now: int | None = None) -> list[Claim]:
        t = now_ms() if now is None else now
        lease_ms, members = await self._claim(
            keys=[keys.schedule()], args=[str(t), str(int(lease * 1000)), str(limit)]
        )
        claims = []
        for member in members:
            team, run_id = keys.split_schedule_member(str(member))
            claims.append(Claim(team=team, run_id=run_id, lease_ms=int(lease_ms)))
        return claims

    async def settle(self, outcomes: Sequence[tuple[Claim, int | None]]) -> int:
        """Reschedule each claimed run to its new due time (epoch ms), or drop it from the
        schedule (``None``), in one round trip; only runs still under our lease change."""
        if not outcomes:
            return 0
        args: list[str] = []
        for claim, due in outcomes:
            args += [claim.member, str(claim.lease_ms), "-" if due is None else str(due)]
        done = await self._settle(
            keys=[keys.schedule(), str(keys.seconds(keys.SCHEDULE_TTL))], args=args
        )
        return int(done)

    async def extend_lease(self, claim: Claim, lease: float) -> Claim | None:
        """Hold a run longer (a slow delivery); None when the lease was already lost."""
        new_lease = now_ms() + int(lease * 1000)
        done = await self._settle(
            keys=[keys.schedule(), str(keys.seconds(keys.SCHEDULE_TTL))],
            args=[claim.member, str(claim.lease_ms), str(new_lease)],
        )
        return Claim(claim.team, claim.run_id, new_lease) if done else None

    async def scheduled_count(self) -> int:
        return int(await self.redis.zcard(keys.schedule()))

    async def next_due_ms(self) -> int | None:
        first = await self.redis.zrange(keys.schedule(), 0, 0, withscores=True)
        return int(first[0][1]) if first else None

    # -- delivery of a finished run ------------------------------------------------------

    async def delivered_parts(self, team: str, run_id: str) -> dict[str, str]:
        return cast(dict[str, str], await self.redis.hgetall(keys.delivery(team, run_id)))

    async def record_part(self, team: str, run_id: str, part: str, value: str) -> None:
        key = keys.delivery(team, run_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, part, value)
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

    async def enqueue_if_busy(
        self, team: str, channel: str, thread_ts: str, item: Mapping[str, Any]
    ) -> int:
        """Queue ``item`` if the thread is busy; its queue position, or 0 when idle."""
        result = await self._enqueue(
            keys=[keys.thread(team, channel, thread_ts), keys.pending(team, channel, thread_ts)],
            args=[json.dumps(dict(item)), str(keys.seconds(keys.PENDING_TTL))],
        )
        return int(result)

    async def release_thread(
        self, team: str, channel: str, thread_ts: str, run_id: str
    ) -> list[dict[str, Any]]:
        items = await self._release(
            keys=[keys.thread(team, channel, thread_ts), keys.pending(team, channel, thread_ts)],
            args=[run_id],
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

    async def pending_count(self, team: str, channel: str, thread_ts: str) -> int:
        return int(await self.redis.llen(keys.pending(team, channel, thread_ts)))


def connect(url: str | None) -> Store:
    """A store on ``url``; with no URL, an embedded in-process Redis (fakeredis with Lua)."""
    if url:
        # The watcher polls up to 200 runs at once, each with its own Redis calls, and
        # Slack events come in meanwhile: past ``max_connections`` a caller waits for a
        # free connection (blocking pool) instead of failing with "Too many connections".
        pool = redis.BlockingConnectionPool.from_url(
            url,
            decode_responses=True,
            health_check_interval=15,
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
