"""How the fake Origami fills a table's cells after the run that made it ended.

API.md §3.4: ``cells.running`` counts cells waiting, queued or running, table-wide (and
per column); while it is above 0 "the data is still arriving: read again later". Credits
(``credits.lifetimeUsed``) are settled cell charges: they grow as cells finish and never go
down. Here a table's running cells settle evenly over ``seconds`` of the fake's clock (so
``FakeOrigami.advance`` moves them on), each costing ``credits_per_cell``. They are shared
by its two enrichment columns, as a table an agent built fills both: the work email and
the fit score (the qualification a lead preview shows), half each, each running cell one
lead's. Each column's cells and credits, its table's ``stats.running.runningLeads`` and
``updatedAt`` follow, and its rows show no value in a column for the leads whose cell
there is still running (the last rows: those waiting for a score, then for an email).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]

ENRICHED_SLUG = "work_email"
SCORE_SLUG = "fit_score"


def _split(running: int, slugs: set[str]) -> dict[str, int]:
    """The running cells of each enrichment column of a table with ``slugs``, in row order
    (the score column's leads come before the email column's)."""
    if SCORE_SLUG not in slugs:
        return {ENRICHED_SLUG: running}
    return {SCORE_SLUG: running // 2, ENRICHED_SLUG: running - running // 2}


@dataclass
class _Filling:
    started: float
    cells: int  # running when it started
    base_credits: float
    column_credits: dict[str, float]  # each enrichment column's, when it started
    column_cells: dict[str, int]  # each enrichment column's running cells, when it started
    seconds: float
    credits_per_cell: float


class Enrichments:
    def __init__(self, seconds: float, credits_per_cell: float = 2.0) -> None:
        self.seconds = seconds
        self.credits_per_cell = credits_per_cell
        self._filling: dict[str, _Filling] = {}

    def start(self, table: JSON, now: float) -> None:
        """``table`` (a stored Table object) now fills its running cells from ``now``."""
        running = int(table["cells"]["running"])
        if running <= 0:
            self._filling.pop(table["id"], None)
            return
        split = _split(running, _slugs(table))
        for column in table["columns"]:
            if column.get("slug") in split:
                column["cells"]["running"] = split[column["slug"]]
        self._filling[table["id"]] = _Filling(
            started=now,
            cells=running,
            base_credits=float(table["credits"]["lifetimeUsed"]),
            column_credits={
                c["slug"]: float(c["credits"]["lifetimeUsed"])
                for c in table["columns"]
                if c.get("slug") in split
            },
            column_cells=split,
            seconds=max(self.seconds, 1e-3),
            credits_per_cell=self.credits_per_cell,
        )

    def is_filling(self, table_id: str) -> bool:
        return table_id in self._filling

    def stop(self, table_id: str) -> None:
        self._filling.pop(table_id, None)

    def advance(self, table: JSON, now: float, iso_now: str) -> None:
        """Bring ``table``'s cells, credits and stats to where they are at ``now``."""
        filling = self._filling.get(table["id"])
        if filling is None:
            return
        done = min(1.0, max(0.0, (now - filling.started) / filling.seconds))
        running = math.ceil(filling.cells * (1.0 - done))
        if running == int(table["cells"]["running"]):
            return
        charged = (filling.cells - running) * filling.credits_per_cell
        table["cells"]["running"] = running
        table["credits"]["lifetimeUsed"] = filling.base_credits + charged
        split = _split(running, set(filling.column_cells))
        for column in table["columns"]:
            slug = column.get("slug")
            if slug in split:
                column["cells"]["running"] = split[slug]
                settled = filling.column_cells[slug] - split[slug]
                column["credits"]["lifetimeUsed"] = (
                    filling.column_credits[slug] + settled * filling.credits_per_cell
                )
        if "stats" in table:
            oldest = table["stats"].get("running", {}).get("oldestActiveRunStartedAt")
            table["stats"]["running"] = {
                "runningLeads": min(running, int(table["leadCount"])),
                "oldestActiveRunStartedAt": oldest if running else None,
            }
        table["updatedAt"] = iso_now
        if running == 0:
            del self._filling[table["id"]]

    @staticmethod
    def rows(table: JSON, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The rows as served: the last leads still being enriched have no score or no
        work email yet (the one whose cell is still running)."""
        running = min(int(table["cells"]["running"]), len(rows))
        if running == 0:
            return rows
        served = list(rows)
        at = len(rows) - running
        for slug, count in _split(running, _slugs(table)).items():
            for i in range(at, at + count):
                served[i] = {**served[i], slug: None}
            at += count
        return served


def _slugs(table: JSON) -> set[str]:
    return {str(c.get("slug")) for c in table["columns"]}
