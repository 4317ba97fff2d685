"""The run schedule's claim (``bot.stores.schedule.RunSchedule.claim``), as Lua: one
atomic step that takes what is due, moves it to the end of a lease, and takes its Origami
requests' slots of the request budget, so a poll costs no round trip of its own.

Two forms. One workspace: one window for everything (``keys.origami_budget``); due runs
the polls' share has no room for stay due, and the watcher looks again when it frees.
Many workspaces: each entry's slots come from its organisation's window (found through
``keys.budget_of_team``), and a run over its organisation's budget is rescheduled to when
that window has room for it, so it never stands in front of another organisation's polls.
"""

from __future__ import annotations

from bot.stores.budget import TAKE_SLOTS_FN

# When the window ``key`` (of at most ``limit`` entries) has room for the ``k``-th request
# beyond it: when its entry that many places past the limit leaves the window.
_FREE_AT_FN = """
local function free_at(key, now, window, limit, k)
  local index = redis.call('ZCARD', key) - limit + k - 1
  if index < 0 then return now + 1 end
  local nth = redis.call('ZRANGE', key, index, index, 'WITHSCORES')
  if nth[2] then return math.max(now + 1, tonumber(nth[2]) + window) end
  return now + window
end
"""

# What both forms end with: flag as many claimed runs' progress updates as Slack's
# allowance (KEYS[3]) has room for, and say when the schedule has something due next.
_SHOWS_AND_NEXT = """
local shows = take_slots(KEYS[3], a.now, 60000, a.progress_limit, claimed_runs, a.member .. 's')
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local next_due = -1
if first[2] then next_due = tonumber(first[2]) end
"""

# KEYS: the schedule, the Origami request budget, Slack's progress-update allowance.
# Claims what is due: every kept prompt (each takes a person's slot of the budget if there
# is one; one without is still sent, after waiting for a slot), and as many runs as the
# polls' share of the budget has room for. Then flags as many progress updates as the
# allowance has room for. Returns what it claimed and when to look again.
CLAIM_LUA = (
    TAKE_SLOTS_FN
    + """
local a = cjson.decode(ARGV[1])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', a.now, 'LIMIT', 0, a.limit)
local runs, prompts = 0, 0
for _, m in ipairs(due) do
  if string.sub(m, 1, 1) == 'p' then prompts = prompts + 1 else runs = runs + 1 end
end
local runs_ok, wait = take_slots(KEYS[2], a.now, a.window, a.poll_limit, runs, a.member .. 'r')
local prompts_ok = take_slots(KEYS[2], a.now, a.window, a.user_limit, prompts, a.member .. 'p')
local lease, kept_lease = a.now + a.lease, a.now + a.kept_lease
local claimed, admitted, claimed_runs = {}, {}, 0
for _, m in ipairs(due) do
  local slot = 0
  if string.sub(m, 1, 1) == 'p' then
    redis.call('ZADD', KEYS[1], kept_lease, m)
    if prompts_ok > 0 then slot, prompts_ok = 1, prompts_ok - 1 end
  elseif runs_ok > 0 then
    redis.call('ZADD', KEYS[1], lease, m)
    slot, runs_ok, claimed_runs = 1, runs_ok - 1, claimed_runs + 1
  end
  if string.sub(m, 1, 1) == 'p' or slot == 1 then
    claimed[#claimed + 1] = m
    admitted[#admitted + 1] = slot
  end
end
"""
    + _SHOWS_AND_NEXT
    + """
return {claimed, admitted, shows, next_due, wait, lease, kept_lease, 0}
"""
)

# KEYS: the schedule, (unused here), Slack's progress-update allowance, the hash of each
# workspace's organisation's budget window. As ``CLAIM_LUA``, with each entry's slots
# taken from its organisation's window; a workspace not in the hash yet (its key not
# opened since it was connected) has its entries claimed without a slot: their requests'
# gate takes it. A run its organisation's polls' share has no room for is rescheduled
# (``deferred``) to when the window frees, each one slot later than the one before.
CLAIM_PER_ORGANIZATION_LUA = (
    TAKE_SLOTS_FN
    + _FREE_AT_FN
    + """
local a = cjson.decode(ARGV[1])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', a.now, 'LIMIT', 0, a.limit)
local window_of, windows, wanted, order = {}, {}, {}, {}
for i, m in ipairs(due) do
  local team = string.match(m, '^[rp]|(.*)|[^|]*$')
  local w = false
  if team then
    if window_of[team] == nil then window_of[team] = redis.call('HGET', KEYS[4], team) end
    w = window_of[team]
  end
  windows[i] = w
  if w then
    local n = wanted[w]
    if n == nil then
      n = {runs = 0, prompts = 0}
      wanted[w] = n
      order[#order + 1] = w
    end
    if string.sub(m, 1, 1) == 'p' then n.prompts = n.prompts + 1 else n.runs = n.runs + 1 end
  end
end
local runs_ok, prompts_ok, over = {}, {}, {}
for _, w in ipairs(order) do
  local n = wanted[w]
  runs_ok[w] = take_slots(w, a.now, a.window, a.poll_limit, n.runs, a.member .. 'r')
  prompts_ok[w] = take_slots(w, a.now, a.window, a.user_limit, n.prompts, a.member .. 'p')
  over[w] = 0
end
local lease, kept_lease = a.now + a.lease, a.now + a.kept_lease
local claimed, admitted, claimed_runs, deferred = {}, {}, 0, 0
for i, m in ipairs(due) do
  local w, slot = windows[i], 0
  if string.sub(m, 1, 1) == 'p' then
    redis.call('ZADD', KEYS[1], kept_lease, m)
    if w and prompts_ok[w] > 0 then slot, prompts_ok[w] = 1, prompts_ok[w] - 1 end
    claimed[#claimed + 1] = m
    admitted[#admitted + 1] = slot
  elseif w and runs_ok[w] <= 0 then
    over[w] = over[w] + 1
    redis.call('ZADD', KEYS[1], free_at(w, a.now, a.window, a.poll_limit, over[w]), m)
    deferred = deferred + 1
  else
    redis.call('ZADD', KEYS[1], lease, m)
    if w then slot, runs_ok[w] = 1, runs_ok[w] - 1 end
    claimed_runs = claimed_runs + 1
    claimed[#claimed + 1] = m
    admitted[#admitted + 1] = slot
  end
end
"""
    + _SHOWS_AND_NEXT
    + """
return {claimed, admitted, shows, next_due, 0, lease, kept_lease, deferred}
"""
)
