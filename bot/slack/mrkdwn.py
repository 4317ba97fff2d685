"""Agent text to Slack mrkdwn: escaping, Markdown conversion, clipping and splitting.

Slack parses ``&``, ``<`` and ``>`` as control characters: ``<!channel>`` pings a whole
channel, ``<@U123>`` a person, ``<https://evil|click>`` hides a link. Everything the agent
writes is therefore escaped, and the only ``<…>`` sequences in our output are the links and
mentions built here on purpose.

Everything here is pure and total: malformed Markdown never raises, it just renders as text.
"""

from __future__ import annotations

import bisect
import re
from urllib.parse import quote

ELLIPSIS = "…"

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def escape(text: str) -> str:
    """Escape Slack's control characters so ``text`` shows as typed and pings nobody."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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


# Spans a cut must not fall into: our links and mentions, entities, code fence markers.
_PROTECTED_RE = re.compile(r"<[^<>\n]{0,3500}>|&#?[A-Za-z0-9]{1,10};|```")
_FENCE = "```"
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
    if clipped.count(_FENCE) % 2 == 1:
        clipped += _FENCE_CLOSE
    return clipped


# -- links and mentions ------------------------------------------------------------------

_SAFE_URL_RE = re.compile(r"(?i)(?:https?://[^\s/?#<>|]+|mailto:[^\s<>|]+)")
_USER_ID_RE = re.compile(r"[UWB][A-Z0-9]{2,40}")


def is_safe_url(url: str) -> bool:
    """True for an http(s) URL with a host, or a mailto: address."""
    return _SAFE_URL_RE.match(url.strip()) is not None


def _encode_url(url: str) -> str:
    # Slack ends a link at '|' or '>' and breaks it at whitespace: percent-encode those,
    # then escape '&' as Slack wants inside a link.
    encoded = "".join(
        quote(char, safe="") if char in '|<>"' or char.isspace() or ord(char) < 32 else char
        for char in url.strip()
    )
    return encoded.replace("&", "&amp;")


def link(url: str, text: str = "") -> str:
    """A Slack link ``<url|text>``; just the escaped text when the URL is not http(s)/mailto."""
    label = escape(one_line(text))
    if not is_safe_url(url):
        return label or escape(one_line(url))
    target = _encode_url(url)
    if not label or one_line(text) == url.strip():
        return f"<{target}>"
    return f"<{target}|{label}>"


def mention(user_id: str) -> str:
    """``<@U…>`` for a Slack user id; anything else is shown as escaped text, not parsed."""
    if _USER_ID_RE.fullmatch(user_id):
        return f"<@{user_id}>"
    return escape(user_id)


# -- Markdown to mrkdwn ------------------------------------------------------------------

_FENCE_OPEN_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_HEADING_RE = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_RULE_RE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_BULLET_RE = re.compile(r"^([ \t]*)[-*+][ \t]+(.*)$")
_TASK_RE = re.compile(r"^\[([ xX])\][ \t]+(.*)$")
_ORDERED_RE = re.compile(r"^([ \t]*)(\d{1,9})([.)])[ \t]+(.*)$")
_QUOTE_RE = re.compile(r"^ {0,3}((?:>[ \t]?)+)(.*)$")
_TABLE_DELIMITER_RE = re.compile(r"^[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")
_BULLETS = ("•", "◦", "▪")
_RULE = "──────────"

# Every inline construct, tried left to right. Bodies are length-capped so a long line of
# unmatched markers stays linear-ish instead of scanning to the end from every marker.
_INLINE_RE = re.compile(
    r"(?P<code>(?P<ticks>`+)(?P<code_body>.{1,3000}?)(?<!`)(?P=ticks)(?!`))"
    r"|(?P<link>!?\[(?P<link_text>(?:[^\[\]\n]|\[[^\[\]\n]{0,500}\]){0,1000})\]"
    r"\(\s*(?:<(?P<link_angle>[^<>\n]{0,3000})>|(?P<link_url>(?:[^\s()]|\([^\s()]{0,500}\)){0,3000}))"
    r"(?:\s+(?:\"[^\"\n]{0,1000}\"|'[^'\n]{0,1000}'))?\s*\))"
    r"|(?P<autolink><(?P<auto_url>(?:https?://|mailto:)[^\s<>]{1,3000})>)"
    r"|(?P<url>(?<![\w/])https?://[^\s<>]{1,3000})"
    r"|(?P<bold_italic>\*\*\*(?=\S)(?P<bi_body>.{1,1000}?)(?<=\S)\*\*\*)"
    r"|(?P<bold>\*\*(?=\S)(?P<b_body>.{1,1000}?)(?<=\S)\*\*)"
    r"|(?P<bold_u>(?<!\w)__(?=\S)(?P<bu_body>.{1,1000}?)(?<=\S)__(?!\w))"
    r"|(?P<strike>~~(?=\S)(?P<s_body>.{1,1000}?)(?<=\S)~~)"
    r"|(?P<italic>(?<![\w*])\*(?=[^\s*])(?P<i_body>.{1,500}?)(?<=[^\s*])\*(?![\w*]))"
    r"|(?P<italic_u>(?<!\w)_(?=[^\s_])(?P<iu_body>.{1,500}?)(?<=[^\s_])_(?!\w))"
    r"|(?P<br><br\s*/?>)"
    r"|(?P<esc>\\(?P<esc_char>[\\`*_{}\[\]()#+\-.!~|<>]))"
)
_MAX_DEPTH = 8


def markdown_to_mrkdwn(md: str) -> str:
    """Convert the agent's Markdown to Slack mrkdwn, escaping everything it did not generate.

    Headings become bold lines, ``**b**``/``__b__`` ``*b*``, ``*i*``/``_i_`` ``_i_``,
    ``~~s~~`` ``~s~``, ``[t](url)`` ``<url|t>`` (http, https, mailto only), lists ``•``,
    pipe tables an aligned code block; code spans and fences keep their text.
    """
    try:
        return _convert(md)
    except Exception:  # malformed input must never stop a result from posting
        return escape(md)


def _convert(md: str) -> str:
    lines = md.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE_OPEN_RE.match(line)
        if fence and not (fence.group(1)[0] == "`" and "`" in fence.group(2)):
            marker = fence.group(1)
            body: list[str] = []
            i += 1
            while i < len(lines) and not _closes_fence(lines[i], marker):
                body.append(lines[i])
                i += 1
            i += 1  # the closing fence, or past the end when it was never closed
            out.append(_code_block(body))
            continue
        if _starts_table(lines, i):
            rows = [lines[i]]
            aligns = _table_aligns(lines[i + 1])
            i += 2
            while i < len(lines) and "|" in lines[i] and lines[i].strip():
                rows.append(lines[i])
                i += 1
            out.append(_table_block(rows, aligns))
            continue
        out.append(_convert_line(line))
        i += 1
    return "\n".join(out)


def _closes_fence(line: str, marker: str) -> bool:
    stripped = line.strip()
    return (
        len(line) - len(line.lstrip(" ")) <= 3
        and len(stripped) >= len(marker)
        and set(stripped) == {marker[0]}
    )


def _break_fences(text: str) -> str:
    # A stray ``` would open or end a Slack code block: break it with a zero-width space.
    return text.replace(_FENCE, "`\u200b``")


def _code_block(body: list[str]) -> str:
    while body and not body[-1].strip():
        body = body[:-1]
    while body and not body[0].strip():
        body = body[1:]
    if not body:
        return ""
    text = _break_fences("\n".join(escape(line) for line in body))
    return f"{_FENCE}\n{text}\n{_FENCE}"


def _starts_table(lines: list[str], i: int) -> bool:
    if i + 1 >= len(lines) or "|" not in lines[i]:
        return False
    delimiter = lines[i + 1]
    if not _TABLE_DELIMITER_RE.match(delimiter) or "-" not in delimiter:
        return False
    return "|" in delimiter or lines[i].strip().startswith("|")


def _split_row(row: str) -> list[str]:
    row = row.strip()
    if row.startswith("|"):
        row = row[1:]
    if row.endswith("|") and not row.endswith("\\|"):
        row = row[:-1]
    cells = re.split(r"(?<!\\)\|", row)
    return [_inline(cell.strip().replace("\\|", "|"), "plain", 0) for cell in cells]


def _table_aligns(delimiter: str) -> list[str]:
    aligns = []
    for cell in _split_row(delimiter):
        cell = cell.strip()
        aligns.append("right" if cell.endswith(":") and not cell.startswith(":") else "left")
    return aligns


def _table_block(rows: list[str], aligns: list[str]) -> str:
    cells = [_split_row(row) for row in rows]
    columns = max(len(row) for row in cells)
    for row in cells:
        row.extend([""] * (columns - len(row)))
    widths = [max(len(row[c]) for row in cells) for c in range(columns)]

    def render(row: list[str]) -> str:
        parts = []
        for c, cell in enumerate(row):
            right = c < len(aligns) and aligns[c] == "right"
            parts.append(cell.rjust(widths[c]) if right else cell.ljust(widths[c]))
        return " | ".join(parts).rstrip()

    lines = [render(cells[0]), "-+-".join("-" * w for w in widths)]
    lines.extend(render(row) for row in cells[1:])
    return _code_block(lines)


def _convert_line(line: str) -> str:
    if not line.strip():
        return ""
    heading = _HEADING_RE.match(line)
    if heading:
        content = (heading.group(2) or "").strip()
        return f"*{_inline(content, 'heading', 0)}*" if content else ""
    if _RULE_RE.match(line):
        return _RULE
    bullet = _BULLET_RE.match(line)
    if bullet:
        level = min(len(bullet.group(1).expandtabs(4)) // 2, 6)
        rest = bullet.group(2)
        task = _TASK_RE.match(rest)
        if task:
            rest = ("☑ " if task.group(1) in "xX" else "☐ ") + task.group(2)
        marker = _BULLETS[min(level, len(_BULLETS) - 1)]
        return f"{'    ' * level}{marker} {_inline(rest, 'mrkdwn', 0)}"
    ordered = _ORDERED_RE.match(line)
    if ordered:
        level = min(len(ordered.group(1).expandtabs(4)) // 2, 6)
        number, delimiter, rest = ordered.group(2), ordered.group(3), ordered.group(4)
        return f"{'    ' * level}{number}{delimiter} {_inline(rest, 'mrkdwn', 0)}"
    quote_ = _QUOTE_RE.match(line)
    if quote_:
        rest = quote_.group(2)
        while (nested := _QUOTE_RE.match(rest)) is not None:
            rest = nested.group(2)
        inner = _convert_line(rest)
        return f"> {inner}" if inner else ">"
    return _inline(line, "mrkdwn", 0)


def _inline(text: str, mode: str, depth: int) -> str:
    """Inline Markdown in one line. ``mode``: "mrkdwn", "heading" (no nested bold) or
    "plain" (markers removed, NOT escaped: the caller escapes)."""
    out_escape = _identity if mode == "plain" else _escape_text
    if depth > _MAX_DEPTH:
        return out_escape(text)
    out: list[str] = []
    pos = 0
    for match in _INLINE_RE.finditer(text):
        out.append(out_escape(text[pos : match.start()]))
        out.append(_render_inline(match, mode, depth))
        pos = match.end()
    out.append(out_escape(text[pos:]))
    return "".join(out)


def _identity(text: str) -> str:
    return text


def _escape_text(text: str) -> str:
    return _break_fences(escape(text))


def _render_inline(match: re.Match[str], mode: str, depth: int) -> str:
    plain = mode == "plain"
    group = match.group

    def inner(body: str) -> str:
        return _inline(body, mode, depth + 1)

    if group("code") is not None:
        body = group("code_body")
        if plain:
            return body
        return f"`{escape(body.replace('`', 'ˋ'))}`"
    if group("link") is not None:
        url = group("link_angle") if group("link_angle") is not None else group("link_url")
        label = _inline(group("link_text"), "plain", depth + 1)
        if plain:
            return f"{label} ({url})" if label and label != url else (label or url or "")
        return link(url or "", label)
    if group("autolink") is not None:
        url = group("auto_url")
        return url if plain else link(url)
    if group("url") is not None:
        return group("url") if plain else escape(group("url"))
    if group("bold_italic") is not None:
        body = inner(group("bi_body"))
        return body if plain else (f"_{body}_" if mode == "heading" else f"*_{body}_*")
    for name, body_name in (("bold", "b_body"), ("bold_u", "bu_body")):
        if group(name) is not None:
            body = inner(group(body_name))
            return body if plain or mode == "heading" else f"*{body}*"
    if group("strike") is not None:
        body = inner(group("s_body"))
        return body if plain else f"~{body}~"
    for name, body_name in (("italic", "i_body"), ("italic_u", "iu_body")):
        if group(name) is not None:
            body = inner(group(body_name))
            return body if plain else f"_{body}_"
    if group("br") is not None:
        return " " if plain else "\n"
    char = group("esc_char") or ""
    return char if plain else escape(char)


# -- splitting ---------------------------------------------------------------------------

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
    fences = _FENCE in text and limit >= _MIN_LIMIT_FOR_FENCES
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
        inside = fences and text.count(_FENCE, 0, cut) % 2 == 1
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
