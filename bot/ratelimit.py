"""One Origami request budget for every process of the app.

Origami allows 100 requests a minute per organisation, shared by all its keys (and its
web app). Every process takes a slot from one sliding one-minute window in Redis before
each request. Polls may only use the budget minus a reserve, so a person's POST (a new
conversation, an answer) finds room even while the watcher is busy: under pressure polls
are spaced out, POSTs wait at most for the reserve to free up and are never refused.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

from bot import keys
from bot.origami.client import Priority
from bot.store import TAKE_SLOTS_FN, BudgetRule, Store, now_ms, unique_member

log = logging.getLogger(__name__)

WINDOW_MS = 60_000

# Take one slot if the window has room below ``limit``; otherwise return how long (ms)
# until the oldest entry leaves the window and a slot frees up.
_TAKE_LUA = (
    TAKE_SLOTS_FN
    + """
local _, wait = take_slots(
  KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), 1, ARGV[4])
return wait
"""
)


class SharedBudget:
    """A ``RequestGate`` backed by Redis: ``per_minute`` requests across all processes."""

    def __init__(
        self,
        store: Store,
        per_minute: int,
        *,
        user_reserve: float = 0.1,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.per_minute = per_minute
        # At least one slot a minute is kept for people, whatever the budget.
        self.poll_limit = max(1, per_minute - max(1, int(per_minute * user_reserve)))
        # For the scripts that take a slot as part of a larger step (a person's prompt
        # kept and admitted at once; a batch of polls claimed with their slots).
        self.rule = BudgetRule(
            per_minute=per_minute, poll_limit=self.poll_limit, window_ms=WINDOW_MS
        )
        self._take = store.redis.register_script(_TAKE_LUA)
        self._sleep = sleep
        self.waited_s = 0.0

    async def acquire(self, priority: Priority) -> None:
        limit = self.per_minute if priority is Priority.USER else self.poll_limit
        while True:
            wait_ms = int(
                await self._take(
                    keys=[keys.origami_budget()],
                    args=[str(now_ms()), str(WINDOW_MS), str(limit), unique_member()],
                )
            )
            if wait_ms == 0:
                return
            # Jitter keeps processes that wait for the same slot from waking together.
            delay = wait_ms / 1000 * random.uniform(1.0, 1.2)
            self.waited_s += delay
            log.info(
                "origami request budget used up; waiting",
                extra={"priority": priority.value, "wait_s": round(delay, 2)},
            )
            await self._sleep(delay)
