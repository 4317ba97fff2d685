"""Every Redis key the app uses, built in one place, each with its lifetime and why.

Keys are namespaced by Slack team (``ogs:{team}:…``) so one Redis serves several
workspaces. The process-wide ones: the run schedule (a worker does not know teams in
advance; its entries carry the team), the Origami request budget (Origami's limit is per
organisation, not per Slack team), Slack's progress-update allowance and the heartbeats.
No key name is built anywhere else, Lua included: scripts get theirs in ``KEYS`` (or, for
the per-organisation budgets, from a hash of names built here: ``budget_of_team``).
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
# A delivery record must outlive every process that could still be holding its owner.
DELIVERY_TTL = timedelta(days=7)
# The schedule key itself is refreshed on every write; it only expires when the whole
# app has been idle that long (its entries are removed as runs end).
SCHEDULE_TTL = timedelta(days=30)
# Prompts kept for a sender or waiting in a busy thread; a day, then they are gone.
PENDING_TTL = timedelta(days=1)
# Feedback is given while a result is read: a month covers a thread read again later, so
# a second click by the same person is still recognised (and not counted again).
FEEDBACK_TTL = timedelta(days=30)
# The credit balance is read at most this often per team (after runs), and a low balance
# said at most this often: often enough to matter, rarely enough not to nag.
CREDITS_CHECK_TTL = timedelta(minutes=10)
CREDITS_WARNING_TTL = timedelta(days=1)
# The result messages of a thread whose buttons are live, until a newer run closes them.
OPEN_BUTTONS_TTL = timedelta(days=7)


def seconds(ttl: timedelta) -> int:
    return int(ttl.total_seconds())


def _part(value: str) -> str:
    # Slack ids and timestamps never contain ':' but be safe against odd input.
    return value.replace(":", "_")


def event(team: str, event_id: str) -> str:
    """STRING, SET NX: this Slack message (by channel and ts) was taken by some process."""
    return f"{PREFIX}:{_part(team)}:event:{_part(event_id)}"


def action(team: str, fingerprint: str) -> str:
    """STRING, SET NX: this one-shot click (what it does, to which run) was handled."""
    digest = hashlib.sha256(fingerprint.encode()).hexdigest()[:32]
    return f"{PREFIX}:{_part(team)}:action:{digest}"


def thread(team: str, channel: str, thread_ts: str) -> str:
    """HASH: the Origami agent behind a Slack thread, and what the thread is busy with."""
    return f"{PREFIX}:{_part(team)}:thread:{_part(channel)}:{_part(thread_ts)}"


def queue(team: str, channel: str, thread_ts: str) -> str:
    """LIST: prompts waiting behind what the thread is busy with, oldest first."""
    return f"{PREFIX}:{_part(team)}:pending:{_part(channel)}:{_part(thread_ts)}"


def kept(team: str, prompt_id: str) -> str:
    """HASH: a prompt kept for a sender until Origami has it (see ``domain.KeptPrompt``)."""
    return f"{PREFIX}:{_part(team)}:kept:{_part(prompt_id)}"


def run(team: str, run_id: str) -> str:
    """STRING (JSON): a run in flight or recently finished, and where it is shown."""
    return f"{PREFIX}:{_part(team)}:run:{_part(run_id)}"


def shared_card(team: str, channel: str, message_ts: str) -> str:
    """STRING: the run a table card shared to a channel came from (its buttons act on it)."""
    return f"{PREFIX}:{_part(team)}:shared:{_part(channel)}:{_part(message_ts)}"


def delivery(team: str, owner: str) -> str:
    """HASH: the messages posted for ``owner`` (a run's result, a prompt's "On it"), each
    with its intent (a post may have gone out) and, once recorded, its ts."""
    return f"{PREFIX}:{_part(team)}:delivered:{_part(owner)}"


def questions(team: str, run_id: str) -> str:
    """HASH: a run's pending questions, their answers and the message showing them."""
    return f"{PREFIX}:{_part(team)}:questions:{_part(run_id)}"


def feedback(team: str, run_id: str) -> str:
    """HASH: who gave feedback on a run's result (user id -> verdict), first click only."""
    return f"{PREFIX}:{_part(team)}:feedback:{_part(run_id)}"


def open_buttons(team: str, channel: str, thread_ts: str) -> str:
    """STRING (JSON): the last delivered run of a thread and the ts of its result
    messages, whose next steps and Continue/Retry a newer run closes."""
    return f"{PREFIX}:{_part(team)}:buttons:{_part(channel)}:{_part(thread_ts)}"


def credits_checked(team: str) -> str:
    """STRING, SET NX: the team's credit balance was read lately (``CREDITS_CHECK_TTL``)."""
    return f"{PREFIX}:{_part(team)}:credits:checked"


def credits_warned(team: str) -> str:
    """STRING, SET NX: a low balance was said lately (``CREDITS_WARNING_TTL``)."""
    return f"{PREFIX}:{_part(team)}:credits:warned"


def typed_answer(team: str, token: str) -> str:
    """HASH: what an open "Or something else" modal answers (thread, run, question, who
    opened it); the modal carries only this random token, so its metadata names nothing."""
    return f"{PREFIX}:{_part(team)}:typing:{_part(token)}"


def started(team: str, user_id: str) -> str:
    """ZSET: the conversations a person started (JSON members), scored by when; the
    newest ``STARTED_MAX`` are kept."""
    return f"{PREFIX}:{_part(team)}:started:{_part(user_id)}"


# As long as a thread is remembered: a listed conversation can still be continued.
STARTED_TTL = THREAD_TTL
STARTED_MAX = 20


def uploaded_file(team: str, file_id: str, workspace_id: str) -> str:
    """STRING (JSON ``[kind, id]``): the Origami table or document a Slack file became in
    a workspace (the same file shared into two conversations is two uploads)."""
    return f"{PREFIX}:{_part(team)}:file:{_part(file_id)}:{_part(workspace_id)}"


# A kept prompt lives a day; its files' uploads are remembered a week, so a prompt sent
# again late, or the same file shared again in the thread, reuses them.
UPLOAD_TTL = timedelta(days=7)


# A modal can stay open a while; a day covers anyone who comes back to it.
TYPED_ANSWER_TTL = timedelta(days=1)


def _glob(value: str) -> str:
    # A SCAN pattern that matches ``value`` literally.
    return "".join("\\" + c if c in "*?[]\\" else c for c in value)


def team_pattern(team: str) -> str:
    """SCAN MATCH pattern of every key of one workspace (all of the above), for its
    uninstall."""
    return f"{PREFIX}:{_glob(_part(team))}:*"


def schedule() -> str:
    """ZSET of schedule entries (a run to poll, a kept prompt to send) scored by the epoch
    ms at which each is next due."""
    return f"{PREFIX}:watch:due"


def failures() -> str:
    """HASH: schedule entry -> how many times handling it failed in a row (an entry that
    keeps failing is given up after a few, not tried forever). Dropped with the entry."""
    return f"{PREFIX}:watch:failures"


def handoff_channel() -> str:
    """PUB/SUB channel: a prompt was kept and is due now (wakes idle workers)."""
    return f"{PREFIX}:watch:handoff"


def origami_budget() -> str:
    """ZSET: the Origami requests of the last minute, all processes (a sliding window).
    One workspace: its one key's organisation."""
    return f"{PREFIX}:origami:budget"


def organization_budget(organization: str) -> str:
    """ZSET: the same window for one Origami organisation (many workspaces: each
    organisation's keys have a limit of their own)."""
    return f"{PREFIX}:origami:budget:org:{_part(organization)}"


def budget_of_team() -> str:
    """HASH: workspace key -> the name of its organisation's budget window
    (``organization_budget``), written whenever a process opens the workspace's Origami
    key. The watcher's claim reads it to take each poll's slot from the right window in
    the same atomic step: the one place a script finds key names outside ``KEYS`` (it
    cannot know which organisations are due before it looks), so the app needs one
    Redis, not a Cluster. A field is dropped with its workspace."""
    return f"{PREFIX}:origami:budget:teams"


def progress_budget() -> str:
    """ZSET: the progress updates (``chat.update``) of the last minute, all processes.

    One bot token is one workspace, and Slack's rate limits are per workspace and method."""
    return f"{PREFIX}:slack:progress"


def heartbeats() -> str:
    """ZSET worker id -> when its heartbeat runs out (ms, Redis time). Members past their
    time are dropped by the next beat; the key itself expires with its last heartbeat."""
    return f"{PREFIX}:workers:heartbeats"


# Slack's agent platform, per workspace.

# A workspace that refused an agent-platform method is asked again after a day: an admin
# who declares the app an agent, or grants a scope, sees it work the next day without a
# restart, and in between no run pays for a call bound to fail.
REFUSED_TTL = timedelta(days=1)
# The Messages tab's onboarding is shown once; a year is "once" for anyone still using it.
ONBOARDED_TTL = timedelta(days=365)


def refused(team: str, feature: str) -> str:
    """STRING: Slack's error when this workspace refused an agent-platform feature (agent
    sessions, the thread status): runs use the fallback until it expires."""
    return f"{PREFIX}:{_part(team)}:refused:{_part(feature)}"


# A workspace's settings outlive any idle spell: re-armed whenever a process reads them
# (at least once a minute while the app is used there), so only a workspace that has not
# used the app for over a year falls back to the defaults.
SETTINGS_TTL = timedelta(days=400)


def workspace_settings(team: str) -> str:
    """STRING (JSON): the workspace's own settings (``bot.workspace_settings``), changed
    by its admins in App Home."""
    return f"{PREFIX}:{_part(team)}:settings"


def onboarded(team: str, user_id: str) -> str:
    """STRING, SET NX: this person was shown the Messages tab's onboarding."""
    return f"{PREFIX}:{_part(team)}:onboarded:{_part(user_id)}"


# Tables still being enriched after their run ended, re-read until done (``bot.enrichment``).

# A followed table's record outlives the longest follow by a day: a worker that comes back
# from an outage still finds what it was following, and then stops.
ENRICHING_TTL = timedelta(days=1)


def enriching_due() -> str:
    """ZSET of followed tables (``e|team|run|table``) scored by the epoch ms at which each is
    next re-read; a claim moves an entry to the end of its lease (as the run schedule)."""
    return f"{PREFIX}:enriching:due"


def enriching(team: str, run_id: str, table_id: str) -> str:
    """HASH: a table still being enriched after run ``run_id`` ended, and where in the
    thread its card and preview are (``bot.stores.enrichment.FollowedTable``)."""
    return f"{PREFIX}:{_part(team)}:enriching:{_part(run_id)}:{_part(table_id)}"


# Scheduled agents (``bot.schedules``).

# A schedule made from Slack lives until it is deleted; its record is refreshed on every
# poll of its runs, so this only forgets one nobody polls any more (the app gone a year).
SCHEDULES_TTL = timedelta(days=400)
# A run found in a schedule's history is posted once: its marker is kept this long after
# the last read that saw the run (the history holds the newest 20 runs, which for a weekly
# schedule span 20 weeks), and the poller posts no run older than this (``HORIZON_S``).
SCHEDULED_RUN_TTL = timedelta(days=30)


def schedules(team: str) -> str:
    """HASH: schedule id -> what the app keeps of a schedule made from this workspace
    (its channel, who made it, its name and cron)."""
    return f"{PREFIX}:{_part(team)}:schedules"


def schedules_due() -> str:
    """ZSET of ``team|schedule id`` scored by the epoch ms at which the schedule's runs are
    next read (all workspaces: a worker does not know teams in advance)."""
    return f"{PREFIX}:schedules:due"


def scheduled_run(team: str, run_id: str) -> str:
    """HASH: a scheduled run found in a schedule's history: the ts of the thread opened for
    it (``opener``), when it was about to be posted (``intent``), and ``done`` once its
    thread is bound to its agent and the run is watched."""
    return f"{PREFIX}:{_part(team)}:sched-run:{_part(run_id)}"


def schedule_closed(team: str, schedule_id: str) -> str:
    """STRING, SET NX: the schedule's maker was told its channel is closed to the app
    (gone once a run is posted there, so a later closing is said again)."""
    return f"{PREFIX}:{_part(team)}:sched-closed:{_part(schedule_id)}"


def scheduled_run_lease(team: str, run_id: str) -> str:
    """STRING, SET NX PX: the process posting a scheduled run's thread right now."""
    return f"{PREFIX}:{_part(team)}:sched-run-lease:{_part(run_id)}"
