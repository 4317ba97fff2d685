"""Conversation summaries (``bot.summaries``), kept as two fields of the thread's hash.

``home`` is ``<status>|<epoch s>``; ``tables`` is JSON ``[[name, leads], ...]``, written
only by a run that touched tables, so a follow-up that made none leaves the conversation's
tables as they were. Both go with the thread: the same key, TTL and uninstall.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain import ThreadRef
from bot.stores import keys
from bot.summaries import ConversationStatus, Summary, TableCount, to_tables

HOME = "home"
TABLES = "tables"


@dataclass(frozen=True, slots=True)
class Listed:
    """A conversation as App Home reads it. ``summary`` None: the thread is remembered
    but was last used before summaries were kept."""

    thread: ThreadRef
    summary: Summary | None


def fields_of(summary: Summary) -> dict[str, str]:
    fields = {HOME: f"{summary.status.value}|{summary.at:.0f}"}
    if summary.tables:
        fields[TABLES] = json.dumps([[t.name, t.leads] for t in summary.tables])
    return fields


def load(home: str | None, tables: str | None, *, busy: bool) -> Summary | None:
    """Read back what Redis holds, checked like any input (another version may have
    written it): a field that does not parse counts as absent."""
    status, at = _load_home(home)
    if busy:
        status = ConversationStatus.WORKING
    if status is None:
        return None
    return Summary(status=status, at=at, tables=_load_tables(tables))


def _load_home(raw: str | None) -> tuple[ConversationStatus | None, float]:
    if not raw:
        return None, 0.0
    status, _, at = raw.partition("|")
    try:
        return ConversationStatus(status), float(at)
    except ValueError:
        return None, 0.0


def _load_tables(raw: str | None) -> tuple[TableCount, ...]:
    if not raw:
        return ()
    try:
        items = json.loads(raw)
    except ValueError:
        return ()
    if not isinstance(items, list):
        return ()
    pairs = [
        (item[0], item[1])
        for item in items
        if isinstance(item, list)
        and len(item) == 2
        and isinstance(item[0], str)
        and isinstance(item[1], int)
        and not isinstance(item[1], bool)
    ]
    return to_tables(pairs)


class SummaryStore:
    def __init__(self, client: Any) -> None:
        self.redis = client

    async def read(self, threads: Sequence[ThreadRef]) -> list[Listed]:
        """The summaries of those of ``threads`` still remembered (a thread forgotten, or
        whose agent was never made, is left out), in one round trip: a pipeline, not a
        transaction, as each hash stands on its own."""
        if not threads:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for t in threads:
                key = keys.thread(t.team, t.channel, t.thread_ts)
                pipe.hmget(key, "agent_id", "busy", HOME, TABLES)
            rows = await pipe.execute()
        return [
            Listed(thread, load(home, tables, busy=bool(busy)))
            for thread, (agent, busy, home, tables) in zip(threads, rows, strict=True)
            if agent or busy
        ]
