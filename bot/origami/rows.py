"""The rows of a table (``GET /tables/{id}/rows``), read as tolerantly as the other models.

A row's cells are keyed by column slug and typed (``{"type": "scalar" | "value" | …,
"value": …}``, or the bare value with ``cells=flat``); what a cell holds is the agent's
and the web's data, so it stays ``Any`` here and is turned into text, bounded, by whoever
shows it (``bot.previews``).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from bot.origami.tolerant import Count, Items, OrigamiModel


class Row(OrigamiModel):
    id: str = ""
    cells: dict[str, Any] = Field(default_factory=dict)


class RowsPage(OrigamiModel):
    items: Items[Row] = Field(default_factory=list)
    # Matching rows across all pages; absent, the page is all that is known.
    total: Count | None = None
    next_cursor: str | None = None
