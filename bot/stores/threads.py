"""Threads: which agent a Slack thread talks to, what it is busy with, and its queue.

A person's message is taken in one atomic step (``take``): the Slack message is claimed,
the thread's state decides what the message is, and the prompt is kept for a sender (or
queued behind what the thread is busy with). The decision is atomic with ``release``, so a
prompt is never queued just after the queue was drained.
"""

from __future__ import annotations

import json
from typing import Any, cast

from bot.domain import (
    Busy,
    Intake,
    KeptPrompt,
    Prompt,
    PromptKind,
    Taken,
    ThreadRef,
    ThreadState,
)
from bot.stores import codec, keys
from bot.stores.budget import now_ms
from bot.stores.schedule import prompt_entry

# KEYS: the Slack message's claim, the thread, its queue, the kept prompt, the schedule.
# A message already claimed does nothing. A thread with neither agent nor work is new: a
# message that may start one (a mention, a DM) starts it, any other is not ours. A busy
# thread queues the prompt. Otherwise the prompt is kept (its kind and the thread's agent
# written beside it), the thread is marked busy with it, it is due now in the schedule, and
# idle workers are told on the hand-off channel.
_TAKE_LUA = """
local a = cjson.decode(ARGV[1])
if a.event_ttl > 0 and not redis.call('SET', KEYS[1], '1', 'NX', 'EX', a.event_ttl) then
  return {'duplicate'}
end
local t = redis.call('HMGET', KEYS[2], 'agent_id', 'busy')
local agent, busy = t[1], t[2]
if agent == '' then agent = false end
if busy == '' then busy = false end
local kind
if busy then
  local n = redis.call('RPUSH', KEYS[3], a.queued)
  redis.call('EXPIRE', KEYS[3], a.pending_ttl)
  return {'queued', busy, n}
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

# KEYS: the thread, its queue. If the thread is still busy with ``busy``, it is idle now
# (or forgotten, when its agent could not be created) and its queue is handed back.
_RELEASE_LUA = """
local a = cjson.decode(ARGV[1])
if redis.call('HGET', KEYS[1], 'busy') ~= a.busy then return {} end
if a.forget then
  redis.call('DEL', KEYS[1])
else
  redis.call('HDEL', KEYS[1], 'busy')
end
local items = redis.call('LRANGE', KEYS[2], 0, -1)
redis.call('DEL', KEYS[2])
return items
"""


class ThreadStore:
    def __init__(self, client: Any) -> None:
        self.redis = client
        self._take = client.register_script(_TAKE_LUA)
        self._release = client.register_script(_RELEASE_LUA)

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
        )
        entry = prompt_entry(thread.team, prompt_id)
        args = {
            "event_ttl": keys.seconds(keys.EVENT_TTL) if event else 0,
            "may_start": may_start,
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
            return Taken(outcome, position=int(reply[2]), busy=Busy.decode(str(reply[1])))
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

    async def release(self, thread: ThreadRef, busy: Busy, *, forget: bool = False) -> list[Prompt]:
        """The thread is done with ``busy``: idle again (``forget``: gone, as its agent
        could not be created), and what was queued behind it is handed back, in order."""
        items = await self._release(
            keys=[
                keys.thread(thread.team, thread.channel, thread.thread_ts),
                keys.queue(thread.team, thread.channel, thread.thread_ts),
            ],
            args=[json.dumps({"busy": busy.encode(), "forget": forget})],
        )
        queued = [codec.load_queued(str(raw)) for raw in items]
        return [q for q in queued if q is not None]

    async def queue_length(self, thread: ThreadRef) -> int:
        return int(await self.redis.llen(keys.queue(thread.team, thread.channel, thread.thread_ts)))
