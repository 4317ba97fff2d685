"""The sentences of App Home's recent conversations and of its Origami account line.

Apart from ``bot.slack.texts`` and ``home_texts`` to keep each module small; the same
rules: fixed sentences, what to do next, nothing from Redis or Origami unescaped.
"""

from __future__ import annotations

from bot.slack.mrkdwn import escape
from bot.summaries import ConversationStatus

RECENT_TITLE = "Your recent conversations"
NONE_YET = (
    "You haven't started a conversation lately. Mention me in a channel "
    "(`@Origami find 20 seed-stage SaaS founders in Austin`), send me a message here, or "
    "type `/origami new <what you're looking for>`."
)
RECENT_UNREADABLE = (
    "Your conversations can't be listed right now. Nothing is lost: open this tab again "
    "in a minute."
)

STATUS: dict[ConversationStatus | None, str] = {
    ConversationStatus.WORKING: ":hourglass_flowing_sand: working",
    ConversationStatus.ANSWERED: ":white_check_mark: answered",
    ConversationStatus.NEEDS_ANSWER: ":raising_hand: needs your answer",
    ConversationStatus.FAILED: ":x: failed",
    ConversationStatus.STOPPED: ":black_square_for_stop: stopped",
    None: ":speech_balloon: open",
}

NO_TABLES = "no tables yet"
MORE_TABLES = "+{n} more"


def leads(count: int) -> str:
    return f"{count:,} lead" + ("" if count == 1 else "s")


def ago(seconds: float) -> str:
    minutes = max(0, int(seconds) // 60)
    if minutes < 1:
        return "just now"
    if minutes < 60:
        return f"{minutes} min ago"
    if minutes < 48 * 60:
        return f"{minutes // 60} h ago"
    return f"{minutes // (24 * 60)} days ago"


def last_activity(seconds_ago: float) -> str:
    return f"last activity {ago(seconds_ago)}"


def account_read(organization: str, plan: str, balance: float | None) -> str:
    org = escape(organization) or "Your Origami organisation"
    plan_part = f" · plan *{escape(plan)}*" if plan else ""
    if balance is None:
        credits = "credits balance not shown by Origami"
    else:
        credits = f"*{balance:,.0f}* credits left"
    return f":large_green_circle: {org}{plan_part} · {credits}"


ACCOUNT_UNAVAILABLE = (
    ":grey_question: Origami didn't answer just now, so the plan and credits can't be "
    "shown. Conversations are not affected; open this tab again in a minute."
)
ACCOUNT_NOT_CONNECTED = ":white_circle: No Origami account connected yet."
