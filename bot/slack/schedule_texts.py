"""The sentences of schedules: the modal, its errors, what is posted in a schedule's
channel, App Home's section and ``/origami schedules``.

Apart from ``bot.slack.texts`` because that module is long already; the same rules:
fixed sentences in the bot's own voice, what to do next, nothing from a payload unescaped.
"""

from __future__ import annotations

from bot.problems import Problem, ProblemKind

SCHEDULE_BUTTON = "Schedule"

MODAL_TITLE = "Schedule this search"  # within Slack's 24
MODAL_SUBMIT = "Schedule"
MODAL_CLOSE = "Cancel"
MODAL_INTRO = (
    "I'll run this prompt on a schedule and post each result as a new thread in the "
    "channel you pick. Replies in a result's thread continue that run's agent."
)
PROMPT_LABEL = "What should I look for each time?"
WHEN_LABEL = "When"
CRON_LABEL = "Custom schedule (cron)"
CRON_HINT = (
    "Only for Custom: five fields in UTC, e.g. `30 8 * * 1-5` for 8:30 on weekdays. "
    "At most once an hour."
)
CRON_PLACEHOLDER = "30 8 * * 1-5"
CHANNEL_LABEL = "Post the results in"

PROMPT_EMPTY = "Tell me what to look for."
PROMPT_TOO_LONG = "That's longer than I can send: keep it under {limit:,} characters."
CRON_MISSING = "Type a cron expression, or pick one of the other choices."
CRON_SHAPE = "A cron has five fields separated by spaces, like `30 8 * * 1-5`."
INVALID_CRON = "Origami can't read this cron expression: check its five fields."
TOO_FREQUENT = "That runs too often for Origami: schedules can run at most once an hour."
WHEN_MISSING = "Pick when it should run."
CHANNEL_MISSING = "Pick a channel for the results."
TIMED_OUT = (
    "Origami didn't answer in time, so I can't tell yet whether the schedule was made. "
    "Submit again: it won't make a second one."
)

FAILED_TITLE = "Not scheduled"
FAILED_CLOSE = "Close"
_FAILED: dict[ProblemKind, str] = {
    ProblemKind.NOT_CONNECTED: (
        "This workspace isn't connected to Origami yet, so I can't make a schedule. A "
        "workspace admin can connect an Origami API key in my Home tab."
    ),
    ProblemKind.BAD_API_KEY: (
        "Origami refused this workspace's API key, so nothing was scheduled. A workspace "
        "admin can connect a working key in my Home tab."
    ),
    ProblemKind.PLAN_REQUIRED: (
        "This Origami plan can't run scheduled agents, so nothing was scheduled. "
        "Upgrading the plan in Origami lets me."
    ),
    ProblemKind.RATE_LIMITED: (
        "Origami is busy right now, so nothing was scheduled. Try again in a minute."
    ),
}
FAILED_OTHER = (
    "I couldn't make this schedule, and nothing was scheduled. Try again in a minute; if it "
    "keeps happening, let the admin of this app know."
)


def failed(problem: Problem | None) -> str:
    """The plain message a failed creation shows in the modal."""
    if problem is None:
        return FAILED_OTHER
    text = _FAILED.get(problem.kind, FAILED_OTHER)
    return f"{text} <{problem.fix_url}|Fix it in Origami>" if problem.fix_url else text


CONFIRMED = (
    ":calendar: *Scheduled: {name}*\n{when}. I'll post each result here as a new thread; "
    "reply in it to continue with that run's agent."
)
CANNOT_POST = (
    "I made the schedule *{name}*, but I can't post in <#{channel}> yet: invite me there "
    "(`/invite @Origami`) so that its results can be posted. Until then I keep them."
)
RUNS_WAITING = (
    "A run of your schedule *{name}* is waiting: I can't post in <#{channel}>. Invite me "
    "there (`/invite @Origami`) and I'll post its result; until then I keep the runs."
)
RUN_OPENER = (
    ":calendar: *{name}*: a scheduled run ({when}). I'm posting its result in this "
    "thread; reply here to continue."
)

HOME_TITLE = "Schedules"
HOME_NONE = (
    "No schedules yet. Click *Schedule* under a result (or a suggested *schedule* step) to "
    "run the same search on a schedule."
)
HOME_UNAVAILABLE = (
    "I can't read the schedules from Origami right now. Open this tab again in a minute."
)
HOME_MAY_CHANGE = "Its maker or a workspace admin can pause, resume or delete a schedule."
PAUSE = "Pause"
RESUME = "Resume"
DELETE = "Delete"
DELETE_CONFIRM_TITLE = "Delete this schedule?"
DELETE_CONFIRM_TEXT = "It stops for good; the threads it posted stay."
DELETE_CONFIRM_YES = "Delete"
DELETE_CONFIRM_NO = "Cancel"
ENABLED = ":large_green_circle: running"
PAUSED = ":double_vertical_bar: paused"
PLAN_BLOCKED = ":warning: the Origami plan can't run it"
NEXT_RUN = "next run {when}"
MADE_BY = "made by {who}"

NOT_ALLOWED = "Only the person who made this schedule, or a workspace admin, can change it."
GONE = "That schedule no longer exists."
CHANGE_FAILED = "Origami didn't take the change; nothing changed. Try again in a minute."

LIST_TITLE = "*This workspace's schedules:*"
LIST_NONE = HOME_NONE
LIST_UNAVAILABLE = HOME_UNAVAILABLE
LIST_MANAGE = "Pause, resume or delete them in my Home tab."
