"""Making agent text inert: removing invisible control characters, escaping Slack's
control characters, and clipping escaped text.

Slack parses ``&``, ``<`` and ``>`` as control characters: ``<!channel>`` pings a whole
channel, ``<@U123>`` a person, ``<https://evil|click>`` hides a link. A stray ``` would
open or end a code block. Control characters (NUL and the like) have no business in a
message, and the bidirectional overrides and isolates can make text read differently from
what it is (``evil.com``, U+202E, ``moc.knab`` shows as ``evil.combank.com``): both are
removed.
"""

from __future__ import annotations

import re

ELLIPSIS = "…"
FENCE = "```"

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}

# C0 controls but tab and newline, DEL and the C1 controls; the bidi embeddings and
# overrides (U+202A-U+202E) and isolates (U+2066-U+2069); and lone surrogates, which are
# not characters at all (JSON's \ud800 escapes can make them) and cannot be encoded. The
# left-to-right and right-to-left marks (U+200E, U+200F) stay: they only set the direction
# of neutral characters next to them, which right-to-left writing needs, and cannot
# reorder a run of text the way an override does.
_UNSAFE_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def strip_controls(text: str) -> str:
    """``text`` without control characters (but tab and newline), bidi overrides and
    isolates, and lone surrogates."""
    return _UNSAFE_RE.sub("", text)


def escape(text: str) -> str:
    """Escape Slack's control characters so ``text`` shows as typed and pings nobody, and
    remove the invisible ones (``strip_controls``)."""
    text = strip_controls(text)
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
    raw = strip_controls(raw)
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
    label = clip_escaped(one_line(raw), limit)
    # Slack refuses an empty label, or one of spaces only (what is left of a label made
    # of control characters once they are stripped).
    return label if label.strip() else ELLIPSIS
