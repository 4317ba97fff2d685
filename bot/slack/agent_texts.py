"""Every sentence of Slack's agent surfaces: the thread's loading status, the Messages
tab's onboarding and suggested prompts, and who pressed Slack's Stop.

Kept apart from ``bot.slack.texts`` (the thread's messages) as these read differently:
the status is plain text Slack shows after the app's name ("Origami is working…"), and
the onboarding speaks for the app in the first person.
"""

from __future__ import annotations

import math

from bot.domain import Progress
from bot.slack.mrkdwn import mention
from bot.slack.texts import plural

# Shown after the app's name, as Slack words it ("Origami is working on it…").
STATUS_WORKING = "is working on it…"
# The notification preview of the "On it" message with a Stop button (no mrkdwn marks).
WORKING_PREVIEW = "⏳ Working on it…"
# Slack rotates through at most 10 loading messages; ours are few and short.
LOADING_MESSAGES_MAX = 10
_ELAPSED_MAX_S = 24 * 3600.0


def loading_messages(progress: Progress) -> list[str]:
    """Step 3 · 12 leads so far · Working for 2 min · 2 messages queued

    Steps taken, as the progress line says them, not against the plan's maximum: a run
    seldom uses most of its steps, and "3 of up to 50" read as a run 6 % done. The time in
    whole minutes: a status whose text has not changed is not set again
    (``bot.slack.agent_surface``), and seconds would change it at every poll."""
    messages = [f"Step {max(progress.steps_completed, 0):,}"]
    if progress.leads_found is not None:
        messages.append(f"{plural(progress.leads_found, 'lead')} found so far")
    # A run is watched 2 hours at most: a clock jump must not make a line of any length.
    elapsed = min(progress.elapsed_s, _ELAPSED_MAX_S)
    messages.append(f"Working for {_minutes(elapsed)}")
    if progress.queued > 0:
        messages.append(f"{plural(progress.queued, 'message')} waiting for this run")
    return messages[:LOADING_MESSAGES_MAX]


def _minutes(seconds: float) -> str:
    """under a minute, 1 min, 59 min, 1h 05m"""
    if not math.isfinite(seconds):
        seconds = 0.0  # as the progress line's duration: a bad clock reads as no time
    minutes = int(max(seconds, 0.0) // 60)
    if minutes < 1:
        return "under a minute"
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60}h {minutes % 60:02d}m"


def stopped_by(user_id: str) -> str:
    # The result that follows says what was built; this line says only who stopped it.
    return f"⏹️ {mention(user_id)} stopped this run."


ONBOARDING_TITLE = "👋 Hi, I find and qualify leads for you."


def onboarding(user_id: str) -> str:
    return (
        f"Welcome, {mention(user_id)}! Tell me who you are looking for, in plain words: "
        "the role, the kind of company, where, and how many. Pick a suggested prompt "
        "above to start, or type your own.\n"
        "• I answer in a thread. Reply there to refine the list; I keep the context.\n"
        "• While I work, the thread shows my progress, and *Stop* ends the run; what I "
        "built so far is kept.\n"
        "• In a channel, mention me (`@Origami find 20 …`) and the whole team can follow."
    )
