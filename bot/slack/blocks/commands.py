"""What ``/origami`` answers (privately, to whoever typed it), and the message that opens
a thread for ``/origami new``. Its sentences live here rather than in ``texts``, which is
full; they are only ever shown from this module."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

from bot.domain import StartedConversation
from bot.slack import limits
from bot.slack.blocks.common import Block, Message, context_block, fallback_text, section_block
from bot.slack.mrkdwn import escape, one_line, split_text

HELP = (
    "*Talk to Origami's lead agents from here:*\n"
    "• `/origami new <what you're looking for>`: start a conversation in this channel\n"
    "• `/origami list`: the conversations you started lately (only you see the list)\n"
    "• `/origami schedules`: this workspace's scheduled searches (only you see the list)\n"
    "• `/origami help`: this message\n"
    "You can also mention me (`@Origami find 20 seed-stage SaaS founders in Austin`) or "
    "share a CSV with me; reply in a thread to keep a conversation going."
)
UNKNOWN = "I don't know `/origami {verb}`."
NEW_EMPTY = (
    "Tell me what to look for after `new`, for example: "
    "`/origami new find 20 seed-stage SaaS founders in Austin`."
)
NOT_IN_CHANNEL = (
    "I can't post in this conversation yet. Invite me first (`/invite @Origami`), then try "
    "`/origami new` again; nothing was sent to Origami."
)
STARTING = "Starting a conversation in this channel…"
NONE_STARTED = (
    "You haven't started any conversation lately. Try `/origami new <what you're looking "
    "for>`, or mention me in a channel."
)
LIST_TITLE = "*Your recent conversations:*"
OPENED_BY = "*{who}* started this with `/origami new`; replies in the thread continue it."
FAILED = (
    "Something went wrong on our side, and nothing was sent to Origami. Try again in a "
    "minute; if it keeps happening, let the admin of this app know."
)

_DOMAIN_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_CHANNEL_RE = re.compile(r"[A-Z0-9]{1,32}")
_TS_RE = re.compile(r"[0-9]{1,12}\.[0-9]{1,8}")


def build_command_note(text: str) -> Message:
    return Message(text=fallback_text(text), blocks=[section_block(text, "command")])


def build_command_help(unknown_verb: str | None = None) -> Message:
    text = HELP
    if unknown_verb is not None:
        verb = escape(one_line(unknown_verb))[:40]
        text = f"{UNKNOWN.format(verb=verb)}\n\n{HELP}"
    return build_command_note(text)


def thread_link(team_domain: str, started: StartedConversation) -> str | None:
    """The conversation's permalink (Slack's ``/archives/<channel>/p<ts>`` form), or None
    when a part of it is not what Slack sends (the domain comes from the command's
    payload, the rest from Redis)."""
    if not (
        _DOMAIN_RE.fullmatch(team_domain)
        and _CHANNEL_RE.fullmatch(started.channel)
        and _TS_RE.fullmatch(started.thread_ts)
    ):
        return None
    ts = started.thread_ts.replace(".", "")
    return f"https://{team_domain}.slack.com/archives/{started.channel}/p{ts}"


def _ago(started_at: float, now: float) -> str:
    minutes = max(0, int(now - started_at) // 60)
    if minutes < 60:
        return f"{minutes} min ago"
    if minutes < 48 * 60:
        return f"{minutes // 60} h ago"
    return f"{minutes // (24 * 60)} days ago"


def build_started_list(
    started: Sequence[StartedConversation], team_domain: str, now: float | None = None
) -> Message:
    if not started:
        return build_command_note(NONE_STARTED)
    now = time.time() if now is None else now
    lines = [LIST_TITLE]
    for item in started:
        # Titles are a person's own words: escaped, and kept off the link syntax.
        title = escape(one_line(item.title)).replace("|", "¦") or "…"
        link = thread_link(team_domain, item)
        shown = f"<{link}|{title}>" if link else title
        where = f"<#{item.channel}>" if _CHANNEL_RE.fullmatch(item.channel) else ""
        lines.append(f"• {shown} {where} · {_ago(item.started_at, now)}".replace("  ", " "))
    chunks = split_text("\n".join(lines), limits.MAX_SECTION_TEXT)
    blocks: list[Block] = [section_block(chunk, f"list:{n}") for n, chunk in enumerate(chunks)]
    return Message(text=fallback_text(LIST_TITLE), blocks=blocks)


def build_thread_opener(who: str, prompt: str) -> Message:
    """The message ``/origami new`` posts in the channel: the thread its agent answers in.
    ``who`` is the name Slack gave in the command (shown, never a mention: nobody is
    pinged)."""
    name = escape(one_line(who))[:80] or "Someone"
    chunks = split_text(escape(prompt), limits.MAX_SECTION_TEXT)[:3]
    blocks: list[Block] = [section_block(chunk, f"prompt:{n}") for n, chunk in enumerate(chunks)]
    blocks.append(context_block(OPENED_BY.format(who=name), "opened_by"))
    return Message(text=fallback_text(f"{name}: {one_line(prompt)}"), blocks=blocks)
