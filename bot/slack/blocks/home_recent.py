"""App Home's section of a person's recent conversations: each with its thread link,
where it stands, its tables with their lead counts, and when it last moved."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

from bot.slack import home_recent_texts as texts
from bot.slack.blocks.common import Block, context_block, header_block, section_block
from bot.slack.mrkdwn import escape, one_line
from bot.summaries import RecentConversation

# What ``auth.test`` gives as the workspace's URL, checked before a link is made of it.
_WORKSPACE_URL_RE = re.compile(r"https://[a-z0-9][a-z0-9.-]{0,200}/")
_CHANNEL_RE = re.compile(r"[A-Z0-9]{1,32}")
_TS_RE = re.compile(r"[0-9]{1,12}\.[0-9]{1,8}")
# Tables named on one line; the rest counted.
_TABLES_SHOWN = 3


def permalink(workspace_url: str, channel: str, thread_ts: str) -> str | None:
    """The thread's permalink (Slack's ``/archives/<channel>/p<ts>`` form), or None when a
    part of it is not what Slack sends."""
    if not (
        _WORKSPACE_URL_RE.fullmatch(workspace_url)
        and _CHANNEL_RE.fullmatch(channel)
        and _TS_RE.fullmatch(thread_ts)
    ):
        return None
    return f"{workspace_url}archives/{channel}/p{thread_ts.replace('.', '')}"


def _tables_line(item: RecentConversation) -> str:
    tables = item.summary.tables if item.summary else ()
    if not tables:
        return texts.NO_TABLES
    named = [
        f"{escape(one_line(t.name)) or '…'} ({texts.leads(t.leads)})"
        for t in tables[:_TABLES_SHOWN]
    ]
    if len(tables) > _TABLES_SHOWN:
        named.append(texts.MORE_TABLES.format(n=len(tables) - _TABLES_SHOWN))
    return ", ".join(named)


def _conversation_block(item: RecentConversation, workspace_url: str, now: float, n: int) -> Block:
    started = item.started
    # Titles are a person's own words: escaped, and kept off the link syntax.
    title = escape(one_line(started.title)).replace("|", "¦") or "…"
    link = permalink(workspace_url, started.channel, started.thread_ts)
    shown = f"*<{link}|{title}>*" if link else f"*{title}*"
    where = f" in <#{started.channel}>" if _CHANNEL_RE.fullmatch(started.channel) else ""
    summary = item.summary
    at = summary.at if summary and summary.at else started.started_at
    status = texts.STATUS[summary.status if summary else None]
    facts = f"{status} · {_tables_line(item)} · {texts.last_activity(now - at)}"
    return section_block(f"{shown}{where}\n{facts}", f"recent:{n}")


def build_recent_section(
    recent: Sequence[RecentConversation] | None,
    workspace_url: str,
    now: float | None = None,
) -> list[Block]:
    """``recent`` None: the list could not be read (said plainly, nothing else fails).
    At most one header, ten conversations (``HOME_LIST_MAX``) and a note: 12 blocks."""
    blocks = [header_block(texts.RECENT_TITLE, "recent_title")]
    if recent is None:
        return [*blocks, context_block(texts.RECENT_UNREADABLE, "recent_unreadable")]
    if not recent:
        return [*blocks, context_block(texts.NONE_YET, "recent_none")]
    now = time.time() if now is None else now
    return blocks + [
        _conversation_block(item, workspace_url, now, n) for n, item in enumerate(recent)
    ]
