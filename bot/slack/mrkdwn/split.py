"""Cutting mrkdwn to size: ``clip_mrkdwn`` and ``split_text``.

Neither ever cuts inside a link or mention we built, an entity such as ``&amp;``, or a
``` marker; a cut inside a code fence closes the fence (and ``split_text`` reopens it).
"""

from __future__ import annotations

import bisect
import re

from bot.slack.mrkdwn.escaping import ELLIPSIS, FENCE

# Spans a cut must not fall into: our links and mentions, entities, code fence markers.
_PROTECTED_RE = re.compile(r"<[^<>\n]{0,3500}>|&#?[A-Za-z0-9]{1,10};|```")
_FENCE_CLOSE = "\n```"
_FENCE_REOPEN = "```\n"


def _protected_spans(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _PROTECTED_RE.finditer(text)]


def _span_at(spans: list[tuple[int, int]], starts: list[int], pos: int) -> tuple[int, int] | None:
    """The protected span strictly around ``pos`` (a cut there would split it), if any."""
    index = bisect.bisect_left(starts, pos) - 1
    if index >= 0:
        start, end = spans[index]
        if start < pos < end:
            return start, end
    return None


def clip_mrkdwn(text: str, limit: int) -> str:
    """Cut mrkdwn to at most ``limit`` characters without breaking links, entities or fences."""
    if len(text) <= limit:
        return text
    spans = _protected_spans(text)
    starts = [start for start, _ in spans]
    cut = max(0, limit - len(ELLIPSIS) - len(_FENCE_CLOSE))
    span = _span_at(spans, starts, cut)
    if span is not None:
        cut = span[0]
    clipped = text[:cut].rstrip() + ELLIPSIS
    if clipped.count(FENCE) % 2 == 1:
        clipped += _FENCE_CLOSE
    return clipped


# (separator, how many of its characters stay at the end of the chunk), best first.
_SEPARATORS: tuple[tuple[str, int], ...] = (
    ("\n\n", 0),
    ("\n", 0),
    (". ", 1),
    ("! ", 1),
    ("? ", 1),
    (" ", 0),
)
# Below this, there is no room to close and reopen a code fence around a split.
_MIN_LIMIT_FOR_FENCES = 20


def split_text(text: str, limit: int) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` characters, dropping nothing.

    Splits at a paragraph break if one is in the second half of the chunk, else a line
    break, a sentence end, a space, and only then anywhere; never inside a link, a
    mention, an entity or a ``` marker. A split inside a code fence closes the fence at
    the end of the chunk and reopens it at the start of the next. Whitespace-only chunks
    are left out.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if len(text) <= limit:
        return [text] if text.strip() else []
    fences = FENCE in text and limit >= _MIN_LIMIT_FOR_FENCES
    spans = _protected_spans(text)
    starts = [start for start, _ in spans]
    chunks: list[str] = []
    pos = 0
    reopen = False
    while pos < len(text):
        prefix = _FENCE_REOPEN if reopen else ""
        room = limit - len(prefix)
        if len(text) - pos <= room:
            rest = text[pos:]
            if rest.strip():
                chunks.append(prefix + rest)
            break
        budget = room - (len(_FENCE_CLOSE) if fences else 0)
        cut, resume = _find_cut(text, pos, pos + budget, spans, starts)
        inside = fences and text.count(FENCE, 0, cut) % 2 == 1
        chunk = text[pos:cut]
        chunk = chunk.rstrip("\n") if inside else chunk.rstrip()
        if chunk.strip():
            chunks.append(prefix + chunk + (_FENCE_CLOSE if inside else ""))
            reopen = inside
        pos = resume
        if not reopen:
            while pos < len(text) and text[pos] == "\n":
                pos += 1
    return chunks


def _find_cut(
    text: str, start: int, end: int, spans: list[tuple[int, int]], starts: list[int]
) -> tuple[int, int]:
    """Where to end the chunk that starts at ``start`` and may not pass ``end``.

    Returns (cut, resume): the chunk is ``text[start:cut]``, the next one starts at
    ``resume``; what lies between is a dropped separator (whitespace only).
    """
    for threshold in (start + (end - start) // 2, start + 1):
        for separator, keep in _SEPARATORS:
            search_end = end - keep + len(separator)
            while True:
                index = text.rfind(separator, start, search_end)
                if index < 0:
                    break
                cut = index + keep
                if cut < threshold:
                    break
                if cut <= end and _span_at(spans, starts, cut) is None:
                    return cut, index + len(separator)
                search_end = index + len(separator) - 1
    cut = end
    span = _span_at(spans, starts, cut)
    if span is not None and span[0] > start:
        cut = span[0]
    return cut, cut
