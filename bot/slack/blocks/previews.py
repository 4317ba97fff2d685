"""A lead preview as a native ``table`` block: a header row, then one row per lead.

Slack allows one table per message, at most 100 rows of at most 20 cells; a preview has
at most ``bot.previews.PREVIEW_ROWS`` leads and five columns. Cells are ``raw_text`` (shown
as written, so nothing in them is parsed as mrkdwn, pings included); a lead's link is a
``rich_text`` link whose text is fixed ("Profile"), so a lead's data never chooses the
words a link shows. An empty cell shows a dash: Slack refuses an empty ``raw_text``.
"""

from __future__ import annotations

from bot.previews import LeadField, LeadPreview
from bot.slack import limits, texts
from bot.slack.blocks.common import Block, context_block
from bot.slack.mrkdwn import strip_controls

_EMPTY = "–"
_WRAPPED = frozenset({LeadField.COMPANY, LeadField.TITLE})
_HEADERS = {
    LeadField.NAME: "Name",
    LeadField.COMPANY: "Company",
    LeadField.TITLE: "Title",
    LeadField.QUALIFICATION: "Fit",
    LeadField.LINK: "Link",
}


def _raw(text: str | None) -> Block:
    shown = strip_controls(text or "").strip()
    return {"type": "raw_text", "text": shown or _EMPTY}


def _link(url: str | None) -> Block:
    if url is None:
        return _raw(None)
    return {
        "type": "rich_text",
        "elements": [
            {
                "type": "rich_text_section",
                "elements": [{"type": "link", "url": url, "text": texts.PREVIEW_LINK}],
            }
        ],
    }


def build_preview(preview: LeadPreview, table_name: str, index: int) -> list[Block]:
    """A context line naming the table and how many of its leads are shown, then the
    table. Empty when there is nothing to show."""
    if not preview.fields or not preview.rows:
        return []
    fields = preview.fields[: limits.MAX_TABLE_CELLS]
    rows = preview.rows[: limits.MAX_TABLE_ROWS - 1]
    header = [_raw(_HEADERS[f]) for f in fields]
    body = [
        [
            _link(value) if field is LeadField.LINK else _raw(value)
            for field, value in zip(fields, row, strict=False)
        ]
        for row in rows
    ]
    table: Block = {
        "type": "table",
        "block_id": f"preview:{index}",
        # Every column visible in the thread pane (about 480 px): the long ones wrap, the
        # name, fit and link stay on one line.
        "column_settings": [{"is_wrapped": field in _WRAPPED} for field in fields],
        "rows": [header, *body],
    }
    note = texts.preview_note(table_name, len(rows), preview.total)
    return [context_block(note, f"preview:{index}:note"), table]
