"""Threads: which agent a Slack thread talks to, what it is busy with, and its queue.

A person's message is taken in one atomic step (``take``): the Slack message is claimed,
the thread's state decides what the message is, and the prompt is kept for a sender (or
queued behind what the thread is busy with). The decision is atomic with ``release``, so a
prompt is never queued just after the queue was drained.
"""

from __future__ import annotations

import json
from typing import Any, cast

from redis.exceptions import WatchError

from bot.domain import (
    QUEUE_MAX,
    Busy,
    Intake,
    KeptPrompt,
    Prompt,
    PromptKind,
    Released,
    Taken,
    ThreadRef,
    ThreadState,
    kept_prompt_id,
    next_batch,
)
from bot.stores import codec, keys, summaries
from bot.stores.budget import now_ms
from bot.stores.schedule import prompt_entry
from bot.summaries import Summary

# KEYS: the Slack message's claim, the thread, its queue, the kept prompt, the schedule.
# A message already claimed does nothing. A thread with neither agent nor work is new: a
# message that may start one (a mention, a DM) starts it, any other is not ours. A busy
# thread queues the prompt, unless its queue is full (the reply is refused, not dropped
# silently); the busy period's notice, once posted, comes back with it. Otherwise the
# prompt is kept (its kind and the thread's agent written beside it), the thread is marked
# busy with it, it is due now in the schedule, and idle workers are told on the hand-off
# channel.
_TAKE_LUA = """
local a = cjson.decode(ARGV[1])
if a.event_ttl > 0 and not redis.call('SET', KEYS[1], '1', 'NX', 'EX', a.event_ttl) then
  return {'duplicate'}
end
local t = redis.call('HMGET', KEYS[2], 'agent_id', 'busy', 'notice')
local agent, busy = t[1], t[2]
if agent == '' then agent = false end
if busy == '' then busy = false end
local kind
if busy then
  if redis.call('LLEN', KEYS[3]) >= a.queue_max then return {'full', busy} end
  local n = redis.call('RPUSH', KEYS[3], a.queued)
  redis.call('EXPIRE', KEYS[3], a.pending_ttl)
  return {'queued', busy, n, t[3] or ''}
elseif agent then
  kind = 'follow'
elseif a.may_start then
  kind = 'start'
else
  return {'not_ours'}
end
redis.call('HSET', KEYS[2], 'busy', a.busy)
redis.call('EXPIRE', KEYS[2], a.thread_ttl)
redis.call('HSET', KEYS[4], 'prompt', a.prompt, 'kind', kind, 'agent_id', agent or '',
  'attempt', '1', 'tries', '0')
redis.call('EXPIRE', KEYS[4], a.pending_ttl)
redis.call('ZADD', KEYS[5], a.now, a.entry)
redis.call('EXPIRE', KEYS[5], a.schedule_ttl)
redis.call('PUBLISH', a.channel, a.entry)
return {'kept', kind, agent or ''}
"""


# KEYS: the thread, its queue. The release when nothing waits: if the thread is still
# busy with ``busy`` and its queue is empty, it is idle now (or forgotten) and its
# summary for App Home is written (``bot.stores.summaries``); else whether
# it is someone else's now ("stale") or has a queue to go on with ("queued").
_RELEASE_IF_IDLE_LUA = """
local a = cjson.decode(ARGV[1])
local t = redis.call('HMGET', KEYS[1], 'busy', 'notice')
if t[1] ~= a.busy then return {'stale'} end
if redis.call('LLEN', KEYS[2]) > 0 then return {'queued'} end
if a.forget then
  redis.call('DEL', KEYS[1])
else
  redis.call('HDEL', KEYS[1], 'busy', 'notice')
  for field, value in pairs(a.summary) do redis.call('HSET', KEYS[1], field, value) end
end
return {'idle', t[2] or ''}
"""


class ThreadStore:
    def __init__(self, client: Any) -> None:
        self.redis = client
        self._take = client.register_script(_TAKE_LUA)
        self._release_if_idle = client.register_script(_RELEASE_IF_IDLE_LUA)

    async def take(
        self,
        thread: ThreadRef,
        prompt_id: str,
        prompt: Prompt,
        *,
        may_start: bool,
        event: str | None,
    ) -> Taken:
        """Take a person's prompt (see ``_TAKE_LUA``): one round trip.

        ``event``: the Slack message it came in (claimed here first, so its twin event and
        Slack's retries do nothing); None for a click, claimed by its caller."""
        # Its kind and agent are the script's to decide; these stand in for them.
        item = KeptPrompt(
            id=prompt_id,
            team=thread.team,
            channel=thread.channel,
            thread_ts=thread.thread_ts,
            kind=PromptKind.START,
            agent_id="",
            text=prompt.text,
            user_id=prompt.user_id,
            cause=prompt.cause,
            files=prompt.files,
        )
        entry = prompt_entry(thread.team, prompt_id)
        args = {
            "event_ttl": keys.seconds(keys.EVENT_TTL) if event else 0,
            "may_start": may_start,
            "queue_max": QUEUE_MAX,
            "queued": codec.dump_queued(prompt),
            "prompt": codec.kept_fixed_json(item),
            "busy": item.busy.encode(),
            "entry": entry,
            "now": now_ms(),
            "channel": keys.handoff_channel(),
            "thread_ttl": keys.seconds(keys.THREAD_TTL),
            "pending_ttl": keys.seconds(keys.PENDING_TTL),
            "schedule_ttl": keys.seconds(keys.SCHEDULE_TTL),
        }
        reply = await self._take(
            keys=[
                keys.event(thread.team, event or "-"),
                keys.thread(thread.team, thread.channel, thread.thread_ts),
                keys.queue(thread.team, thread.channel, thread.thread_ts),
                keys.kept(thread.team, prompt_id),
                keys.schedule(),
            ],
            args=[json.dumps(args, ensure_ascii=False)],
        )
        outcome = Intake(str(reply[0]))
        if outcome is Intake.QUEUED:
            return Taken(
                outcome,
                position=int(reply[2]),
                busy=Busy.decode(str(reply[1])),
                notice=str(reply[3]) or None,
            )
        if outcome is Intake.FULL:
            return Taken(outcome, busy=Busy.decode(str(reply[1])))
        if outcome is Intake.KEPT:
            return Taken(outcome, kind=PromptKind(str(reply[1])), agent_id=str(reply[2]))
        return Taken(outcome)

    async def get(self, thread: ThreadRef) -> ThreadState | None:
        key = keys.thread(thread.team, thread.channel, thread.thread_ts)
        data = cast(dict[str, str], await self.redis.hgetall(key))
        if not data:
            return None
        busy = data.get("busy")
        return ThreadState(
            agent_id=data.get("agent_id") or None,
            busy=Busy.decode(busy) if busy else None,
        )

    async def release(
        self,
        thread: ThreadRef,
        busy: Busy,
        *,
        forget: bool = False,
        summary: Summary | None = None,
    ) -> Released:
        """The thread is done with ``busy``: the next batch of its queue is kept for a
        sender at once (``domain.next_batch``), or the thread is idle again; ``forget``:
        the thread is gone, as its agent could not be created, with what waited in it.
        ``summary``: how the run ended, for App Home, written in the same step (only
        while the thread is still busy with ``busy``: a forgotten thread is not remade).

        With a queue, one transaction, retried if the thread or its queue changed under it
        (WATCH): a reply is never queued just after the queue was read, nor sent ahead of
        it. Without one (the common case), one script."""
        tkey = keys.thread(thread.team, thread.channel, thread.thread_ts)
        qkey = keys.queue(thread.team, thread.channel, thread.thread_ts)
        # Most threads have nothing queued when their run ends: one round trip then.
        fields = summaries.fields_of(summary) if summary is not None else {}
        args = {"busy": busy.encode(), "forget": forget, "summary": fields}
        idle = await self._release_if_idle(keys=[tkey, qkey], args=[json.dumps(args)])
        if idle[0] != "queued":
            notice = str(idle[1]) if len(idle) > 1 and idle[1] else None
            return Released(notice=notice) if idle[0] == "idle" else Released()
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(tkey, qkey)
                    agent, current, notice = await pipe.hmget(tkey, "agent_id", "busy", "notice")
                    if current != busy.encode():
                        await pipe.reset()
                        return Released()
                    raw = await pipe.lrange(qkey, 0, -1)
                    queued = [p for p in map(codec.load_queued, raw) if p is not None]
                    batch = None if forget or not agent else next_batch(queued)
                    pipe.multi()
                    if fields and not forget:
                        pipe.hset(tkey, mapping=fields)
                    if batch is None and forget:
                        pipe.delete(tkey, qkey)
                    elif batch is None:
                        pipe.hdel(tkey, "busy", "notice")
                        pipe.delete(qkey)
                    else:
                        count, prompt = batch
                        pipe.ltrim(qkey, count, -1)
                        if count == len(queued):
                            pipe.hdel(tkey, "notice")
                        self._keep(pipe, thread, prompt, agent_id=str(agent))
                    await pipe.execute()
                except WatchError:
                    continue
                if batch is None:
                    # Without an agent nothing queued can go on: it is handed back as such.
                    return Released(notice=notice or None, forgotten=queued)
                return Released(sent=batch[0], left=len(queued) - batch[0], notice=notice or None)

    @staticmethod
    def _keep(pipe: Any, thread: ThreadRef, prompt: Prompt, *, agent_id: str) -> None:
        """Keep ``prompt`` as the thread's next run, due now (as ``_TAKE_LUA`` keeps one)."""
        item = KeptPrompt(
            id=kept_prompt_id(prompt.cause),
            team=thread.team,
            channel=thread.channel,
            thread_ts=thread.thread_ts,
            kind=PromptKind.FOLLOW,
            agent_id=agent_id,
            text=prompt.text,
            user_id=prompt.user_id,
            cause=prompt.cause,
            files=prompt.files,
        )
        tkey = keys.thread(thread.team, thread.channel, thread.thread_ts)
        pipe.hset(tkey, "busy", item.busy.encode())
        pipe.expire(tkey, keys.seconds(keys.THREAD_TTL))
        kkey = keys.kept(thread.team, item.id)
        pipe.hset(kkey, mapping=codec.dump_kept(item))
        pipe.expire(kkey, keys.seconds(keys.PENDING_TTL))
        entry = prompt_entry(thread.team, item.id)
        pipe.zadd(keys.schedule(), {entry: now_ms()})
        pipe.expire(keys.schedule(), keys.seconds(keys.SCHEDULE_TTL))
        pipe.publish(keys.handoff_channel(), entry)

    async def set_notice(self, thread: ThreadRef, ts: str) -> bool:
        """Remember the busy period's "waiting" message (the first one posted wins)."""
        key = keys.thread(thread.team, thread.channel, thread.thread_ts)
        return bool(await self.redis.hsetnx(key, "notice", ts))

    async def queue_length(self, thread: ThreadRef) -> int:
        return int(await self.redis.llen(keys.queue(thread.team, thread.channel, thread.thread_ts)))
