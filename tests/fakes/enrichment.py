"""How the fake Origami fills a table's cells after the run that made it ended.

API.md §3.4: ``cells.running`` counts cells waiting, queued or running, table-wide (and
per column); while it is above 0 "the data is still arriving: read again later". Credits
(``credits.lifetimeUsed``) are settled cell charges: they grow as cells finish and never go
down. Here a table's running cells settle evenly over ``seconds`` of the fake's clock (so
``FakeOrigami.advance`` moves them on), each costing ``credits_per_cell``; its enrichment
column's cells, its ``stats.running.runningLeads`` and its ``updatedAt`` follow, and its
rows show no work email for the leads still being enriched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]

ENRICHED_SLUG = "work_email"


@dataclass
class _Filling:
    started: float
    cells: int  # running when it started
    base_credits: float
    column_credits: float  # the enrichment column's, when it started
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
        self._filling[table["id"]] = _Filling(
            started=now,
            cells=running,
            base_credits=float(table["credits"]["lifetimeUsed"]),
            column_credits=sum(
                float(c["credits"]["lifetimeUsed"])
                for c in table["columns"]
                if c.get("slug") == ENRICHED_SLUG
            ),
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
        for column in table["columns"]:
            if column.get("slug") == ENRICHED_SLUG:
                column["cells"]["running"] = running
                column["credits"]["lifetimeUsed"] = filling.column_credits + charged
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
        """The rows as served: the last leads still being enriched have no work email yet."""
        running = min(int(table["cells"]["running"]), len(rows))
        if running == 0:
            return rows
        cut = len(rows) - running
        return [row if i < cut else {**row, ENRICHED_SLUG: None} for i, row in enumerate(rows)]
