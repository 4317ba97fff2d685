"""Making agent text inert: escaping Slack's control characters, and clipping escaped text.

Slack parses ``&``, ``<`` and ``>`` as control characters: ``<!channel>`` pings a whole
channel, ``<@U123>`` a person, ``<https://evil|click>`` hides a link. A stray ``` would
open or end a code block.
"""

from __future__ import annotations

ELLIPSIS = "…"
FENCE = "```"

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def escape(text: str) -> str:
    """Escape Slack's control characters so ``text`` shows as typed and pings nobody."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def break_fences(text: str) -> str:
    """Break every stray ``` with a zero-width space, so it neither opens nor ends a
    Slack code block."""
    return text.replace(FENCE, "`\u200b``")


def one_line(text: str) -> str:
    """Collapse every run of whitespace (newlines included) to one space."""
    return " ".join(text.split())


def clip_escaped(raw: str, limit: int) -> str:
    """``escape(raw)`` cut to at most ``limit`` characters, ending in "…" when cut.

    Cuts between characters of ``raw``, so an entity such as ``&amp;`` is never split.
    """
    escaped = escape(raw)
    if len(escaped) <= limit:
        return escaped
    budget = limit - len(ELLIPSIS)
    parts: list[str] = []
    used = 0
    for char in raw:
        piece = _ESCAPES.get(char, char)
        if used + len(piece) > budget:
            break
        parts.append(piece)
        used += len(piece)
    return "".join(parts).rstrip() + ELLIPSIS


def clip_label(raw: str, limit: int) -> str:
    """A one-line, escaped label of at most ``limit`` characters (buttons, headers)."""
    return clip_escaped(one_line(raw), limit) or ELLIPSIS
