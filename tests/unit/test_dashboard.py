"""deploy/grafana/origami-slack.json: valid JSON, and every series its queries read is one
the app's registry (bot/metrics.py) exposes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bot.metrics import PREFIX, Metrics

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "origami-slack.json"
# The sample names each type of family has in the text format.
SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
    "info": ("_info",),
}


def exposed() -> set[str]:
    """Every sample name the registry of an app process can show."""
    names = set()
    for family in Metrics(process=True).registry.collect():
        for suffix in SUFFIXES.get(family.type, ("",)):
            names.add(family.name + suffix)
    return names


def panels(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in node.get("panels", []):
        yield panel
        yield from panels(panel)


def queries() -> list[str]:
    board = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in panels(board) for t in p.get("targets", [])]


def test_every_query_reads_series_the_registry_exposes() -> None:
    names = exposed()
    used = set()
    for expr in queries():
        found = set(re.findall(r"\b(?:origami_slack|process|python)_[a-z0-9_]+", expr))
        assert found, f"a query that reads none of the app's series: {expr}"
        missing = found - names
        assert not missing, f"{expr} reads {missing}, which bot/metrics.py does not expose"
        used |= found
    # What the dashboard is for: acks, runs, budget, deliveries, errors.
    for name in (
        "events_acked_total",
        "ack_duration_seconds_bucket",
        "runs_in_flight",
        "origami_requests_total",
        "origami_budget_requests_per_minute",
        "delivery_duration_seconds_bucket",
        "slack_api_errors_total",
    ):
        assert PREFIX + name in used, name


def test_the_dashboard_is_importable() -> None:
    board = json.loads(DASHBOARD.read_text())
    assert board["uid"] and board["title"] and board["schemaVersion"] >= 36
    ids = [p["id"] for p in panels(board)]
    assert len(ids) == len(set(ids))
    for panel in panels(board):
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == "${datasource}"
    (variable,) = board["templating"]["list"]
    assert variable["type"] == "datasource" and variable["query"] == "prometheus"
