"""Operating the app as the README runs it: each process's GET /metrics (web and worker
apart, or both halves in one) adds up to what happened, and LOG_FORMAT=json writes lines
that parse, with their context."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from tests.conftest import RedisTarget
from tests.e2e.conftest import AppProcess, flush, start_app, stop_app
from tests.e2e.test_conversations import mention, wait_finished
from tests.fakes.origami import FakeOrigami, RunScript
from tests.fakes.slack import FakeSlack

PREFIX = "origami_slack_"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(http: httpx.AsyncClient, url: str) -> Samples:
    from prometheus_client.parser import text_string_to_metric_families

    response = await http.get(f"{url}/metrics")
    assert response.status_code == 200, response.text
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def total(scraped: list[Samples], name: str, **labels: str) -> float:
    """``name`` summed over every process and every series whose labels include ``labels``,
    as Prometheus' ``sum()`` over the scrape targets."""
    return sum(
        v
        for samples in scraped
        for (n, ls), v in samples.items()
        if n == PREFIX + name and set(labels.items()) <= set(ls)
    )


async def test_each_process_counts_its_share_of_one_conversation(app: AppProcess) -> None:
    app.origami.script(RunScript(polls=2, status="completed", text="Found 20 founders."))
    thread_ts = await mention(app, "find 20 founders")
    await wait_finished(app, thread_ts)
    processes = [app, *app.workers]

    async def scraped() -> list[Samples]:
        return [await scrape(app.http, p.url) for p in processes]

    def in_flight(figures: list[Samples]) -> float:
        return max(s.get((PREFIX + "runs_in_flight", ()), 0) for s in figures)

    # The result is posted a moment before the delivery is counted, and the run leaves
    # the schedule with the next settle of the worker's polls, a moment later still.
    deadline = asyncio.get_running_loop().time() + 5
    while (
        total(figures := await scraped(), "deliveries_total", outcome="posted") < 1
        or in_flight(figures) > 0
    ):
        assert asyncio.get_running_loop().time() < deadline, figures
        await asyncio.sleep(0.05)

    gets = app.origami.requests("GET", path_prefix="/agents/")
    assert len(gets) == 3  # two running, one that saw it end
    rows = app.origami.requests("GET", path_prefix="/tables/")
    assert len(rows) == 1  # its table's lead preview
    assert total(figures, "events_received_total", type="app_mention") == 1
    assert total(figures, "events_acked_total", type="app_mention") == 1
    assert total(figures, "ack_duration_seconds_count") == 1
    assert total(figures, "conversations_started_total") == 1
    assert total(figures, "polls_total") == len(gets)
    assert total(figures, "deliveries_total", outcome="posted") == 1
    assert total(figures, "delivery_duration_seconds_count") == 1
    assert total(figures, "origami_requests_total") == len(app.origami.requests())
    assert total(figures, "origami_requests_total", endpoint="/agents", status="202") == 1
    run = {"endpoint": "/agents/{id}/runs/{id}", "status": "200"}
    assert total(figures, "origami_requests_total", **run) == len(gets)
    preview = {"endpoint": "/tables/{id}/rows", "status": "200"}
    assert total(figures, "origami_requests_total", **preview) == len(rows)
    assert total(figures, "slack_api_errors_total") == 0
    # The schedule is empty again, as every worker reads it.
    assert in_flight(figures) == 0
    # Every process shows the budget and its own process figures.
    for samples in figures:
        budget = (PREFIX + "origami_budget_requests_per_minute", (("priority", "user"),))
        assert samples[budget] == 90
        assert samples[("process_resident_memory_bytes", ())] > 0
    if app.workers:
        # Split: Slack's requests are the web process's, the work is the worker's.
        web, worker = figures
        assert total([worker], "events_received_total") == 0
        assert total([web], "polls_total") == total([web], "conversations_started_total") == 0
        health = await app.http.get(f"{app.workers[0].url}/healthz")
        assert health.json() == {"ok": True, "role": "worker"}


async def test_json_logs_parse_and_carry_the_context(
    fakes: tuple[FakeSlack, FakeOrigami], redis_target: RedisTarget, http: httpx.AsyncClient
) -> None:
    slack, origami = fakes
    flush(redis_target)
    app = await start_app(slack, origami, redis_target.url, http, LOG_FORMAT="json")
    try:
        origami.script(RunScript(polls=1, status="completed", text="Found them."))
        thread_ts = await mention(app, "find founders")
        await wait_finished(app, thread_ts)
    finally:
        log = await stop_app(app)
    lines: list[dict[str, Any]] = []
    for line in log.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"not a JSON line: {line!r}\n{log}") from None
    assert all({"ts", "level", "logger", "msg"} <= set(line) for line in lines)
    (started,) = [line for line in lines if line["msg"] == "conversation started"]
    for field in ("team", "channel", "thread", "agent", "run"):
        assert started.get(field), (field, started)
    assert started["thread"] == thread_ts
    assert lines[-1]["msg"] == "stopped"
    assert slack.bot_token not in log and origami.api_key not in log
