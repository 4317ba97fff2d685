"""The Origami request budget, shared by every process of the app.

Origami allows 100 requests a minute per organisation, shared by all its keys (and its
web app). Every process takes a slot from a sliding one-minute window in Redis before
each request: one window with one workspace (its one key), one per organisation with many
(``OrganizationBudgets``), so an organisation that is busy never slows another down.
Polls may only use the budget minus a reserve, so a person's POST (a new conversation, an
answer) finds room even while the watcher is busy: under pressure polls are spaced out,
POSTs wait at most for the reserve to free up and are never refused.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.origami.client import Priority
from bot.stores import keys

log = logging.getLogger(__name__)

WINDOW_MS = 60_000

# Take up to ``n`` slots of a sliding window of ``window`` ms holding at most ``limit``
# entries. Returns the slots taken and, when fewer than ``n``, how long (ms) until the
# oldest entry leaves the window and a slot frees up. A negative limit keeps no budget.
# Shared by the scripts that take slots as part of a larger atomic step (the claim).
TAKE_SLOTS_FN = """
local function take_slots(key, now, window, limit, n, member, whole)
  if limit < 0 then return n, 0 end
  if whole then n = math.min(n, limit) end
  if n <= 0 then return 0, 0 end
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local used = redis.call('ZCARD', key)
  local taken = math.min(math.max(limit - used, 0), n)
  if whole and taken < n then taken = 0 end
  for i = 1, taken do
    redis.call('ZADD', key, now, member .. ':' .. i)
  end
  if taken > 0 then redis.call('PEXPIRE', key, window * 2) end
  if taken == n then return taken, 0 end
  -- The wait: until one more slot frees, or (whole) until all n fit.
  local index = used + taken - limit
  if whole then index = index + n - 1 end
  local nth = redis.call('ZRANGE', key, index, index, 'WITHSCORES')
  local wait = 1
  if nth[2] then wait = math.max(1, tonumber(nth[2]) + window - now) end
  return taken, wait
end
"""

_TAKE_LUA = (
    TAKE_SLOTS_FN
    + """
local a = cjson.decode(ARGV[1])
local _, wait = take_slots(KEYS[1], a.now, a.window, a.limit, 1, a.member)
return wait
"""
)


def now_ms() -> int:
    return int(time.time() * 1000)


_PROCESS = uuid.uuid4().hex[:12]
_counter = itertools.count()


def unique_member() -> str:
    """A window entry's id, unique across calls and processes; cheaper than a uuid4."""
    return f"{_PROCESS}-{next(_counter)}"


@dataclass(frozen=True, slots=True)
class BudgetRule:
    """The shared budget's numbers, for scripts that take its slots themselves."""

    per_minute: int  # what a person's POST may use
    poll_limit: int  # what polls may use (the rest is kept for people)
    window_ms: int = WINDOW_MS

    @classmethod
    def of(cls, per_minute: int, user_reserve: float = 0.1) -> BudgetRule:
        # At least one slot a minute is kept for people, whatever the budget.
        poll_limit = max(1, per_minute - max(1, int(per_minute * user_reserve)))
        return cls(per_minute=per_minute, poll_limit=poll_limit)

    def limit(self, priority: Priority) -> int:
        return self.per_minute if priority is Priority.USER else self.poll_limit


NO_BUDGET = BudgetRule(per_minute=-1, poll_limit=-1)


class RequestBudget:
    """The Origami client's ``RequestGate``: ``rule.per_minute`` requests across all
    processes, polls held to ``rule.poll_limit``, in the window ``key``."""

    def __init__(
        self,
        client: Any,
        rule: BudgetRule,
        *,
        key: str | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rule = rule
        self.key = key or keys.origami_budget()
        self._take = client.register_script(_TAKE_LUA)
        self._sleep = sleep
        self.waited_s = 0.0
        # Told of every wait (its priority and seconds): metrics.
        self.on_wait: Callable[[Priority, float], None] = lambda priority, seconds: None

    async def acquire(self, priority: Priority) -> None:
        while True:
            args = {
                "now": now_ms(),
                "window": self.rule.window_ms,
                "limit": self.rule.limit(priority),
                "member": unique_member(),
            }
            wait_ms = int(await self._take(keys=[self.key], args=[json.dumps(args)]))
            if wait_ms == 0:
                return
            # Jitter keeps processes that wait for the same slot from waking together.
            delay = wait_ms / 1000 * random.uniform(1.0, 1.2)
            self.waited_s += delay
            self.on_wait(priority, delay)
            log.info(
                "origami request budget used up; waiting",
                extra={"priority": priority.value, "wait_s": round(delay, 2)},
            )
            await self._sleep(delay)


# Organisations whose gate a process keeps (a gate is two small objects; past this many,
# they are made again as needed).
_GATES_KEPT = 10_000


class OrganizationBudgets:
    """Many workspaces: one ``RequestBudget`` per Origami organisation, each with the whole
    ``rule`` (ORIGAMI_REQUESTS_PER_MINUTE is each organisation's share), and which
    organisation each workspace is in, for the watcher's claim (``keys.budget_of_team``)."""

    def __init__(self, client: Any, rule: BudgetRule) -> None:
        self._client = client
        self.rule = rule
        self._gates: dict[str, RequestBudget] = {}
        # Told of every wait (its priority and seconds), whatever the organisation.
        self.on_wait: Callable[[Priority, float], None] = lambda priority, seconds: None

    def gate(self, organization: str) -> RequestBudget:
        gate = self._gates.get(organization)
        if gate is None:
            if len(self._gates) >= _GATES_KEPT:
                self._gates.clear()
            key = keys.organization_budget(organization)
            gate = RequestBudget(self._client, self.rule, key=key)
            gate.on_wait = lambda priority, seconds: self.on_wait(priority, seconds)
            self._gates[organization] = gate
        return gate

    async def remember(self, team: str, organization: str) -> None:
        """``team``'s key is in ``organization``: its polls take that window's slots."""
        await self._client.hset(keys.budget_of_team(), team, keys.organization_budget(organization))
