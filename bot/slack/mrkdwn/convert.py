"""The agent's Markdown to Slack mrkdwn, escaping everything it did not generate.

Pure and total: malformed Markdown never raises, it just renders as text.
"""

from __future__ import annotations

import re

from bot.slack.mrkdwn.escaping import FENCE, break_fences, escape, strip_controls
from bot.slack.mrkdwn.links import link

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
    pipe tables an aligned code block; code spans and fences keep their text. Control
    characters and bidi overrides are removed first (``strip_controls``), and a link whose
    text names another host than its target shows the target too (``link``).
    """
    md = strip_controls(md)
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


def _code_block(body: list[str]) -> str:
    while body and not body[-1].strip():
        body = body[:-1]
    while body and not body[0].strip():
        body = body[1:]
    if not body:
        return ""
    text = break_fences("\n".join(escape(line) for line in body))
    return f"{FENCE}\n{text}\n{FENCE}"


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
    return break_fences(escape(text))


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
