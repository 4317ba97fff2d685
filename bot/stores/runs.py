"""Runs: the record of each run the app started, and the step that starts watching one."""

from __future__ import annotations

from typing import Any

from bot.domain import Busy, BusyKind, KeptPrompt, RunRecord, StartedConversation
from bot.stores import buttons, codec, keys
from bot.stores import started as started_store
from bot.stores.budget import now_ms
from bot.stores.schedule import prompt_entry, run_entry
from bot.stores.scheduled import mark_done_in


class RunStore:
    def __init__(self, client: Any) -> None:
        self.redis = client

    async def get(self, team: str, run_id: str) -> RunRecord | None:
        return codec.load_run(await self.redis.get(keys.run(team, run_id)))

    async def add_shared_card(self, team: str, channel: str, message_ts: str, run_id: str) -> None:
        key = keys.shared_card(team, channel, message_ts)
        await self.redis.set(key, run_id, ex=keys.seconds(keys.RUN_TTL))

    async def shared_card_run(self, team: str, channel: str, message_ts: str) -> str | None:
        value = await self.redis.get(keys.shared_card(team, channel, message_ts))
        return str(value) if value else None

    async def watch(
        self,
        record: RunRecord,
        kept: KeptPrompt,
        *,
        new_agent: bool,
        first_poll_s: float,
        started: StartedConversation | None = None,
    ) -> list[str]:
        """Origami took a kept prompt: bind a new agent to its thread, save the run, mark
        the thread busy with it, schedule its first poll, drop the kept prompt, list a new
        conversation for its author (``started``), and take the thread's open one-shot
        buttons, which the new run makes stale: all at once (one MULTI, one round trip).
        Returns the ts of the messages whose buttons to close."""
        async with self.redis.pipeline(transaction=True) as pipe:
            buttons.take_in(pipe, record.thread)
            if started is not None:
                started_store.add_in(pipe, record.team, record.user_id, started)
            _watch_in(pipe, record, first_poll_s, bind=new_agent)
            pipe.zrem(keys.schedule(), prompt_entry(kept.team, kept.id))
            pipe.expire(keys.schedule(), keys.seconds(keys.SCHEDULE_TTL))
            pipe.delete(keys.kept(kept.team, kept.id))
            results = await pipe.execute()
        return buttons.parse_taken(results[0])

    async def adopt(self, record: RunRecord, *, first_poll_s: float) -> None:
        """A run Origami started on a schedule, whose new thread was just opened: bind the
        run's agent to the thread, save the run, mark the thread busy with it, schedule
        its first poll and mark the scheduled run posted (one MULTI). From here it is
        polled, delivered and continued like any run."""
        async with self.redis.pipeline(transaction=True) as pipe:
            _watch_in(pipe, record, first_poll_s, bind=True)
            pipe.expire(keys.schedule(), keys.seconds(keys.SCHEDULE_TTL))
            mark_done_in(pipe, record.team, record.run_id)
            await pipe.execute()


def _watch_in(pipe: Any, record: RunRecord, first_poll_s: float, *, bind: bool) -> None:
    """Queue, in the caller's MULTI, what watching a run takes (see ``watch``)."""
    tkey = keys.thread(record.team, record.channel, record.thread_ts)
    if bind:
        pipe.hset(tkey, "agent_id", record.agent_id)
    pipe.hset(tkey, "busy", Busy(BusyKind.RUN, record.run_id).encode())
    pipe.expire(tkey, keys.seconds(keys.THREAD_TTL))
    pipe.set(
        keys.run(record.team, record.run_id), codec.dump_run(record), ex=keys.seconds(keys.RUN_TTL)
    )
    due = now_ms() + int(first_poll_s * 1000)
    pipe.zadd(keys.schedule(), {run_entry(record.team, record.run_id): due})
