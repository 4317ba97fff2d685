"""bot/metrics.py: bounded labels, one registry per process, the hooks and the exposition."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from slack_sdk.errors import SlackApiError

from bot.metrics import PREFIX, Metrics, count_slack_errors, event_type, origami_endpoint


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, by name and labels."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


@pytest.mark.parametrize(
    ("path", "endpoint"),
    [
        ("agents", "/agents"),
        ("agents/ag_1/runs", "/agents/{id}/runs"),
        ("agents/ag_1/cancel", "/agents/{id}/cancel"),
        ("tables/tb_9", "/tables/{id}"),
        ("tables/tb_9/rows", "/tables/{id}/rows"),
        ("scheduled-agents", "/scheduled-agents"),
        ("scheduled-agents/sa_1/runs", "/scheduled-agents/{id}/runs"),
        ("scheduled-agents/sa_1/disable", "/scheduled-agents/{id}/disable"),
        ("scheduled-agents/sa_1/trigger", "other"),  # not called by this app
        (
            httpx.URL("https://o.test/api/v2/agents/ag_1/runs/r_2?include=stats"),
            "/agents/{id}/runs/{id}",
        ),
        # An id that reads like a collection is still an id (by position).
        ("agents/runs/runs/agents", "/agents/{id}/runs/{id}"),
        ("agents/ag_1/secrets", "other"),
        ("account", "other"),
        ("", "other"),
    ],
)
def test_origami_endpoints_are_templated_and_bounded(path: object, endpoint: str) -> None:
    assert origami_endpoint(path) == endpoint


def test_event_types_are_read_from_any_payload_and_bounded() -> None:
    assert event_type({"type": "event_callback", "event": {"type": "app_mention"}}) == "app_mention"
    assert event_type({"type": "block_actions"}) == "block_actions"
    assert event_type({"type": "event_callback", "event": "x"}) == "event_callback"
    assert event_type({"type": "x" * 500}) == "other"
    assert event_type({"type": "bad type\n"}) == "other"
    assert event_type({"type": 5}) == "other"
    assert event_type([]) == "other"


def test_each_metrics_has_its_own_registry() -> None:
    one, two = Metrics(), Metrics()
    one.polls.inc()
    assert one.registry is not two.registry
    assert one.registry.get_sample_value(PREFIX + "polls_total") == 1
    assert two.registry.get_sample_value(PREFIX + "polls_total") == 0


def test_every_series_is_prefixed_documented_and_without_a_team_label() -> None:
    metrics = Metrics()
    families = list(metrics.registry.collect())
    assert len(families) >= 15
    for family in families:
        assert family.name.startswith(PREFIX), family.name
        assert family.documentation, family.name
    # Every labelled family: no label names a workspace.
    metrics.origami_answered("GET", "agents/a/runs/r", 200)
    metrics.slack_call_failed("chat.postMessage", RuntimeError())
    for family in metrics.registry.collect():
        for sample in family.samples:
            assert not {"team", "workspace"} & set(sample.labels), sample


def test_process_figures_only_when_asked() -> None:
    names = {f.name for f in Metrics(process=True).registry.collect()}
    assert {"process_cpu_seconds", "process_resident_memory_bytes", "python_info"} <= names
    assert not any(n.startswith("process_") for n in {f.name for f in Metrics().registry.collect()})


def test_the_hooks_count_what_they_are_told() -> None:
    m = Metrics()
    m.origami_answered("POST", "agents", 202)
    m.origami_answered("GET", httpx.URL("http://o/api/v2/agents/a/runs/r"), 200)
    m.origami_answered("GET", httpx.URL("http://o/api/v2/agents/a/runs/r"), None)
    m.budget_waited("poll", 1.5)
    m.budget_waited("poll", 0.5)
    m.set_budget(90, 81)
    m.delivered(0.01)
    get = m.registry.get_sample_value
    assert (
        get(
            PREFIX + "origami_requests_total",
            {"method": "POST", "endpoint": "/agents", "status": "202"},
        )
        == 1
    )
    run = {"method": "GET", "endpoint": "/agents/{id}/runs/{id}"}
    assert get(PREFIX + "origami_requests_total", {**run, "status": "200"}) == 1
    assert get(PREFIX + "origami_requests_total", {**run, "status": "unreachable"}) == 1
    assert get(PREFIX + "origami_budget_waits_total", {"priority": "poll"}) == 2
    assert get(PREFIX + "origami_budget_wait_seconds_total", {"priority": "poll"}) == 2.0
    assert get(PREFIX + "origami_budget_requests_per_minute", {"priority": "user"}) == 90
    assert get(PREFIX + "origami_budget_requests_per_minute", {"priority": "poll"}) == 81
    assert get(PREFIX + "deliveries_total", {"outcome": "posted"}) == 1
    assert get(PREFIX + "delivery_duration_seconds_count") == 1


class _Client:
    """The one method of slack_sdk's AsyncWebClient that every other calls."""

    def __init__(self, answers: list[Any]) -> None:
        self.answers = answers

    async def api_call(self, api_method: str, **kwargs: Any) -> Any:
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    async def chat_postMessage(self, **kwargs: Any) -> Any:  # as slack_sdk's methods do
        return await self.api_call("chat.postMessage", json=kwargs)


async def test_slack_errors_are_counted_by_method_and_error_and_still_raised() -> None:
    m = Metrics()
    refused = SlackApiError("refused", {"ok": False, "error": "channel_not_found"})
    client = _Client([{"ok": True}, refused, TimeoutError(), SlackApiError("x", {"ok": False})])
    count_slack_errors(client, m)
    assert await client.chat_postMessage(channel="C1") == {"ok": True}
    with pytest.raises(SlackApiError):
        await client.chat_postMessage(channel="C1")
    with pytest.raises(TimeoutError):
        await client.api_call("chat.update", json={})
    with pytest.raises(SlackApiError):
        await client.api_call("conversations.replies")
    get = m.registry.get_sample_value
    name = PREFIX + "slack_api_errors_total"
    assert get(name, {"method": "chat.postMessage", "error": "channel_not_found"}) == 1
    assert get(name, {"method": "chat.update", "error": "TimeoutError"}) == 1
    assert get(name, {"method": "conversations.replies", "error": "other"}) == 1


async def test_a_figure_redis_cannot_give_keeps_its_last_value() -> None:
    m = Metrics()
    answers: list[Any] = [4, ConnectionError("Redis down")]

    async def count() -> int:
        answer = answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return int(answer)

    m.read_schedule_size(count)
    await m.exposition()
    body, _ = await m.exposition()
    assert samples(body.decode())[(PREFIX + "runs_in_flight", ())] == 4


async def test_openmetrics_when_the_scraper_asks_for_it() -> None:
    body, content_type = await Metrics().exposition("application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    assert body.decode().rstrip().endswith("# EOF")
