"""Lead previews: the first leads of the tables a run touched, for people without an
Origami login to read in the thread.

Which columns: name, company, title, qualification and a link, found by the table's
column names and slugs (Origami's tables are built by an agent, so their columns are named
freely: "Full name", "Company", "Job title", "Fit score", "LinkedIn URL"…); a table with
none of them gets no preview. The rows come from ``GET /tables/{id}/rows``, one request per
table for at most ``MAX_PREVIEWS`` tables, each taking a poll's share of the shared request
budget (``bot.stores.budget``), so previews never crowd out a person's request. A table
whose rows cannot be read (gone, Origami down) just gets no preview: its card is shown
all the same.

Cell values are untrusted (the agent's and the web's data): each becomes one line of
plain text, control characters removed, clipped to ``MAX_CELL_CHARS``; a link is kept only
when it is an http(s) URL of reasonable length.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.origami.errors import OrigamiError
from bot.origami.models import Run, Table, TableColumn
from bot.tenancy.origami import OrigamiFor

log = logging.getLogger(__name__)

# Leads shown per table: a glance, not the table (Slack allows 100 rows; five read at a
# glance in a thread pane, ten already made a wall there). Export CSV gives them all.
PREVIEW_ROWS = 5
# Tables previewed per run: one GET each under the shared budget, and Slack allows one
# table per message, so each preview past the first is a message of its own.
MAX_PREVIEWS = 3
MAX_CELL_CHARS = 80
MAX_LINK_CHARS = 1_000
# Table ids go into a URL path: only what Origami's ids are made of.
_TABLE_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,128}")
_URL_RE = re.compile(r"https?://[^\s/?#]+\.[^\s/?#]+[^\s]*", re.IGNORECASE)
_CONTROLS_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]+")


class LeadField(StrEnum):
    """The columns a preview shows, in this order."""

    NAME = "name"
    COMPANY = "company"
    TITLE = "title"
    QUALIFICATION = "qualification"
    LINK = "link"


# Words in a column's slug or name that say which field it holds, most telling first.
_FIELD_WORDS: dict[LeadField, tuple[str, ...]] = {
    LeadField.NAME: ("full_name", "fullname", "lead_name", "name"),
    LeadField.COMPANY: ("company", "organization", "organisation", "employer", "account"),
    LeadField.TITLE: ("job_title", "title", "role", "position", "headline"),
    LeadField.QUALIFICATION: ("qualif", "fit", "score", "relevance", "icp"),
    LeadField.LINK: ("linkedin", "profile", "url", "link", "website"),
}


@dataclass(frozen=True, slots=True)
class LeadPreview:
    """The first leads of one table: ``rows`` hold one value (or None) per field."""

    table_id: str
    fields: tuple[LeadField, ...]
    rows: tuple[tuple[str | None, ...], ...]
    total: int  # leads in the table


def _words(column: TableColumn) -> str:
    return f"{column.slug or ''} {column.name}".lower().replace(" ", "_").replace("-", "_")


def pick_columns(columns: Sequence[TableColumn]) -> dict[LeadField, str]:
    """The slug of the column that holds each field, where one does (each column once)."""
    picked: dict[LeadField, str] = {}
    used: set[str] = set()
    for field in LeadField:
        for word in _FIELD_WORDS[field]:
            match = next(
                (
                    c.slug
                    for c in columns
                    if c.slug and c.slug not in used and _is_field(field, c, word)
                ),
                None,
            )
            if match is not None:
                picked[field] = match
                used.add(match)
                break
    return picked


def _is_field(field: LeadField, column: TableColumn, word: str) -> bool:
    words = _words(column)
    if field is LeadField.NAME and ("company" in words or "account" in words):
        return False  # "Company name" is the company
    if field is LeadField.QUALIFICATION and column.kind == "score":
        return True
    return word in words


def cell_text(raw: Any) -> str | None:
    """A cell as one bounded line of plain text, or None when it holds nothing to show."""
    if isinstance(raw, Mapping):
        raw = raw.get("value")
    if isinstance(raw, bool):
        return "yes" if raw else "no"
    if isinstance(raw, int | float):
        if not math.isfinite(raw):
            return None
        return f"{raw:g}" if isinstance(raw, float) else str(raw)
    if not isinstance(raw, str):
        return None
    text = " ".join(_CONTROLS_RE.sub(" ", raw).split())
    if not text:
        return None
    if len(text) > MAX_CELL_CHARS:
        text = text[: MAX_CELL_CHARS - 1].rstrip() + "…"
    return text


def cell_link(raw: Any) -> str | None:
    """A cell's value when it is an http(s) URL that can be linked, else None."""
    if isinstance(raw, Mapping):
        raw = raw.get("value")
    if not isinstance(raw, str):
        return None
    url = raw.strip()
    if len(url) > MAX_LINK_CHARS or _URL_RE.fullmatch(url) is None:
        return None
    if _CONTROLS_RE.search(url) or any(ch in url for ch in '<>|"\\'):
        return None
    return url


def to_preview(table: Table, rows: Sequence[Mapping[str, Any]], total: int | None) -> LeadPreview:
    """A preview of ``table`` from the cells of its first rows (``{slug: cell}``)."""
    columns = pick_columns(table.columns)
    fields = tuple(f for f in LeadField if f in columns)
    shown: list[tuple[str | None, ...]] = []
    for cells in rows[:PREVIEW_ROWS]:
        values = tuple(
            (cell_link if f is LeadField.LINK else cell_text)(cells.get(columns[f])) for f in fields
        )
        if any(v is not None for v in values):
            shown.append(values)
    return LeadPreview(
        table_id=table.id,
        fields=fields,
        rows=tuple(shown),
        total=max(total or 0, table.lead_count, len(shown)),
    )


class LeadPreviews:
    """Reads the previews of a finished run's tables."""

    def __init__(self, origami: OrigamiFor) -> None:
        self.origami = origami

    async def read(self, team: str, run: Run) -> dict[str, LeadPreview]:
        """Table id -> its preview, for the first tables worth one (leads, known columns),
        read under workspace ``team``'s key."""
        tables = run.response.tables if run.response is not None else []
        wanted = [
            t
            for t in tables
            if t.lead_count > 0 and _TABLE_ID_RE.fullmatch(t.id) and pick_columns(t.columns)
        ][:MAX_PREVIEWS]
        previews: dict[str, LeadPreview] = {}
        for table in wanted:
            preview = await self.of_table(team, table)
            if preview is not None:
                previews[table.id] = preview
        return previews

    async def of_table(self, team: str, table: Table) -> LeadPreview | None:
        """The preview of one table as it is now (also re-read while it is still being
        enriched, ``bot.enrichment``); None when its rows cannot be read or show nothing."""
        if not _TABLE_ID_RE.fullmatch(table.id) or not pick_columns(table.columns):
            return None
        try:
            origami = await self.origami.for_team(team)
            page = await origami.table_rows(table.id, limit=PREVIEW_ROWS)
        except OrigamiError as exc:
            log.warning(
                "no lead preview: the rows could not be read",
                extra={"table": table.id, "error": type(exc).__name__},
            )
            return None
        preview = to_preview(table, [row.cells for row in page.items], page.total)
        return preview if preview.rows else None
