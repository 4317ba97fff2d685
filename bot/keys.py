"""Every Redis key the bot uses, built in one place, each with its lifetime and why.

Keys are namespaced by Slack team (``ogs:{team}:…``) so one Redis can serve several
workspaces. The two exceptions are process-wide: the watcher's schedule (a poller does not
know teams in advance; its members carry the team) and the shared Origami request budget
(Origami's rate limit is per API key's org, not per Slack team).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

PREFIX = "ogs"

# Slack retries an event for about 5 minutes (3 retries); an hour covers any redelivery
# and a Socket Mode reconnect storm with a wide margin.
EVENT_TTL = timedelta(hours=1)
# A button click can only be replayed while its message exists; a day covers double
# clicks, Slack retries and a user coming back to an old thread the same day.
ACTION_TTL = timedelta(days=1)
# Threads live long: a person can come back to a conversation weeks later. Refreshed on
# every use, so only threads idle for 90 days are forgotten.
THREAD_TTL = timedelta(days=90)
# A run lasts at most 20 minutes (Origami's wall clock); its record is kept a week so a
# late click on Continue/Retry/Share still finds what it refers to.
RUN_TTL = timedelta(days=7)
# Questions can be answered as long as the thread is likely to be read.
QUESTIONS_TTL = timedelta(days=30)
# A delivery record must outlive every process that could still be holding the run.
DELIVERY_TTL = timedelta(days=7)
# The schedule key itself is refreshed on every write; it only expires when the whole
# app has been idle that long (its members are removed as runs end).
SCHEDULE_TTL = timedelta(days=30)
# Prompts waiting for a busy agent or a free Origami slot; a day, then the user is told.
PENDING_TTL = timedelta(days=1)


def _part(value: str) -> str:
    # Slack ids and timestamps never contain ':' but be safe against odd input.
    return value.replace(":", "_")


def event(team: str, event_id: str) -> str:
    """SET NX marker: this Slack event (by event_id) was taken by some process."""
    return f"{PREFIX}:{_part(team)}:event:{_part(event_id)}"


def action(team: str, fingerprint: str) -> str:
    """SET NX marker: this click (action + message + value) was handled."""
    digest = hashlib.sha256(fingerprint.encode()).hexdigest()[:32]
    return f"{PREFIX}:{_part(team)}:action:{digest}"


def thread(team: str, channel: str, thread_ts: str) -> str:
    """HASH: the Origami agent behind a Slack thread, and the thread's latest run."""
    return f"{PREFIX}:{_part(team)}:thread:{_part(channel)}:{_part(thread_ts)}"


def agent(team: str, agent_id: str) -> str:
    """STRING: reverse mapping agent id -> "channel:thread_ts"."""
    return f"{PREFIX}:{_part(team)}:agent:{_part(agent_id)}"


def run(team: str, run_id: str) -> str:
    """HASH: a run in flight or recently finished, and where its messages live."""
    return f"{PREFIX}:{_part(team)}:run:{_part(run_id)}"


def delivery(team: str, run_id: str) -> str:
    """HASH: the record that a finished run's result was (or is being) posted."""
    return f"{PREFIX}:{_part(team)}:delivered:{_part(run_id)}"


def questions(team: str, run_id: str) -> str:
    """HASH: a run's pending questions, their answers and the message showing them."""
    return f"{PREFIX}:{_part(team)}:questions:{_part(run_id)}"


def pending(team: str, channel: str, thread_ts: str) -> str:
    """LIST: prompts waiting to be sent in a thread (agent busy, no free slot)."""
    return f"{PREFIX}:{_part(team)}:pending:{_part(channel)}:{_part(thread_ts)}"


def deferred(team: str, deferred_id: str) -> str:
    """HASH: a prompt Origami refused for lack of a free run slot, to be sent again."""
    return f"{PREFIX}:{_part(team)}:deferred:{_part(deferred_id)}"


# Schedule members for deferred prompts use this marker where a run id would stand; run
# ids never contain '@' (^[A-Za-z0-9_-]{1,128}$).
DEFERRED_MARK = "@defer-"


def schedule() -> str:
    """ZSET of "team:run_id" scored by the epoch ms at which the run is next due a poll."""
    return f"{PREFIX}:watch:due"


def origami_budget() -> str:
    """The shared request budget for Origami (sliding window across all processes)."""
    return f"{PREFIX}:origami:budget"


def progress_budget() -> str:
    """ZSET: the progress updates (``chat.update``) made in the last minute, all processes.

    One bot token is one workspace, and Slack's rate limits are per workspace and method."""
    return f"{PREFIX}:slack:progress"


def schedule_member(team: str, run_id: str) -> str:
    return f"{_part(team)}:{run_id}"


def handoff_channel() -> str:
    """PUB/SUB channel: a prompt was kept for a watcher to send (wakes idle watchers)."""
    return f"{PREFIX}:watch:handoff"


def split_schedule_member(member: str) -> tuple[str, str]:
    team, _, run_id = member.partition(":")
    return team, run_id


# The same names as ``run``, ``pending`` and ``deferred`` above, built inside the watcher's
# claim script, which finds a run's record, its thread's queue and a kept prompt's record
# from the schedule member alone. That
# script reads keys it was not handed in KEYS: fine on one Redis (this app's deployment),
# not on a Redis Cluster. ``tests/integration/test_store.py`` checks both agree.
LUA_KEY_FNS = f"""
local function part(v) return (string.gsub(v, ':', '_')) end
local function run_key(team_part, run_id)
  return '{PREFIX}:' .. team_part .. ':run:' .. part(run_id)
end
local function pending_key(team_part, channel, thread_ts)
  return '{PREFIX}:' .. team_part .. ':pending:' .. part(channel) .. ':' .. part(thread_ts)
end
local function deferred_key(team_part, deferred_id)
  return '{PREFIX}:' .. team_part .. ':deferred:' .. part(deferred_id)
end
"""


def seconds(ttl: timedelta) -> int:
    return int(ttl.total_seconds())
