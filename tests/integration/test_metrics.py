"""GET /metrics after real work: a mention through POST /slack/events (signed, through
Bolt), sent, polled and delivered by the watcher to the fake Slack over the fake Origami
and a real Redis; the counters moved by exactly what happened."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from slack_sdk.errors import SlackApiError

from bot.assembly import Core, assemble
from bot.domain import QUEUE_MAX, Prompt, ThreadRef
from bot.metrics import PREFIX, Metrics, count_slack_errors
from bot.origami.client import OrigamiClient, Priority, RetryPolicy, build_http_client
from bot.sending import SendConfig
from bot.slack.agent_surface import SlackAgentSurface
from bot.slack.app import build_web_client, create_app
from bot.slack.blocks import Message
from bot.slack.presenter import SlackPresenter
from bot.slack.web import create_web_app
from bot.stores import Stores, keys
from bot.stores.budget import BudgetRule, RequestBudget
from bot.watcher import WatcherConfig
from tests.fakes import payloads
from tests.fakes.origami import FakeOrigami, RunScript
from tests.fakes.signing import signed_headers
from tests.fakes.slack import FakeSlack

SECRET = "metrics-signing-secret-0123456789abcdef"
Labels = dict[str, str]


@dataclass
class Stack:
    slack: FakeSlack
    origami: FakeOrigami
    stores: Stores
    metrics: Metrics
    core: Core
    http: httpx.AsyncClient
    presenter: SlackPresenter

    async def scrape(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        response = await self.http.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        found = {}
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return found

    async def until(
        self, done: Callable[[], Coroutine[Any, Any, bool]], limit_s: float = 10
    ) -> None:
        """Watcher ticks until ``done()``; bounded in time."""
        deadline = time.monotonic() + limit_s
        while not await done():
            assert time.monotonic() < deadline, self.slack.dump()
            if await self.core.watcher.tick() == 0:
                await asyncio.sleep(0.02)


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((PREFIX + name, tuple(sorted(labels.items()))), 0.0)


def total(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    """The sum over every series of ``name`` whose labels include ``labels``."""
    return sum(
        v for (n, ls), v in samples.items() if n == PREFIX + name and set(labels.items()) <= set(ls)
    )


@pytest.fixture
async def stack(stores: Stores) -> AsyncIterator[Stack]:
    async with FakeSlack() as slack, FakeOrigami(retry_after="0.2") as fake:
        metrics = Metrics()
        metrics.read_schedule_size(stores.schedule.count)
        origami = OrigamiClient(
            build_http_client(fake.url, fake.api_key, timeout=5),
            retry=RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, total_budget=5),
            on_answer=metrics.origami_answered,
        )
        client = build_web_client(slack.bot_token, slack.api_url)
        count_slack_errors(client, metrics)
        presenter = SlackPresenter(client)
        core = assemble(
            stores,
            origami,
            presenter,
            SendConfig(first_poll_s=0.05),
            WatcherConfig(lease_s=5, idle_s=0.02),
            metrics=metrics,
            surface=SlackAgentSurface(client),
        )
        bolt = create_app(client=client, signing_secret=SECRET, conversations=core.conversations)
        web = create_web_app(bolt, stores, stores.heartbeats, role="all", metrics=metrics)
        transport = httpx.ASGITransport(app=web)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
                yield Stack(slack, fake, stores, metrics, core, http, presenter)
        finally:
            await origami.aclose()


async def post_event(stack: Stack, event: dict[str, Any]) -> httpx.Response:
    body = payloads.to_event_body(payloads.events_api(event))
    return await stack.http.post(
        "/slack/events", content=body, headers=signed_headers(SECRET, body)
    )


async def test_a_conversation_moves_each_counter_by_what_happened(stack: Stack) -> None:
    stack.origami.script(RunScript(polls=3, status="completed", text="Found **20** founders."))
    event = payloads.app_mention("find 20 founders")
    stack.slack.add_message(event["channel"], event["text"], ts=event["ts"])
    assert (await post_event(stack, event)).status_code == 200

    async def kept() -> bool:
        return await stack.stores.schedule.count() > 0

    async def delivered() -> bool:
        return await stack.stores.schedule.count() == 0

    await stack.until(kept)  # Bolt's listener runs after the ack
    await stack.until(delivered)
    samples = await stack.scrape()

    # Slack's request: received, acked, timed.
    assert value(samples, "events_received_total", type="app_mention") == 1
    assert value(samples, "events_acked_total", type="app_mention") == 1
    assert value(samples, "ack_duration_seconds_count") == 1
    assert 0 < value(samples, "ack_duration_seconds_sum") < 3
    assert total(samples, "requests_refused_total") == 0
    # One conversation, its run watched, polled until it ended, delivered once.
    gets = stack.origami.requests("GET", path_prefix="/agents/")
    assert len(gets) == 4  # three running, one that saw it end
    rows = stack.origami.requests("GET", path_prefix="/tables/")
    assert len(rows) == 1  # the lead preview of its table
    assert value(samples, "conversations_started_total") == 1
    assert value(samples, "runs_started_total", kind="start") == 1
    assert value(samples, "runs_started_total", kind="follow") == 0
    assert value(samples, "polls_total") == len(gets)
    assert value(samples, "deliveries_total", outcome="posted") == 1
    assert value(samples, "deliveries_total", outcome="failed") == 0
    assert value(samples, "delivery_duration_seconds_count") == 1
    assert value(samples, "runs_in_flight") == 0
    # Every request Origami saw, by endpoint and status, and nothing else.
    assert (
        value(samples, "origami_requests_total", method="POST", endpoint="/agents", status="202")
        == 1
    )
    run = {"method": "GET", "endpoint": "/agents/{id}/runs/{id}", "status": "200"}
    assert value(samples, "origami_requests_total", **run) == len(gets)
    preview = {"method": "GET", "endpoint": "/tables/{id}/rows", "status": "200"}
    assert value(samples, "origami_requests_total", **preview) == len(rows)
    assert total(samples, "origami_requests_total") == len(stack.origami.requests())
    assert len(stack.origami.requests()) == 1 + len(gets) + len(rows)
    # Nothing went wrong or waited.
    assert total(samples, "slack_api_errors_total") == 0
    assert total(samples, "origami_budget_waits_total") == 0
    assert value(samples, "prompts_queued_total") == 0


async def test_an_unsigned_request_is_counted_as_refused_not_received(stack: Stack) -> None:
    body = payloads.to_event_body(payloads.events_api(payloads.app_mention("hi")))
    response = await stack.http.post("/slack/events", content=body)
    assert response.status_code == 401
    samples = await stack.scrape()
    assert value(samples, "requests_refused_total", status="401") == 1
    assert total(samples, "events_received_total") == 0
    assert value(samples, "ack_duration_seconds_count") == 0


async def test_replies_queued_and_refused_while_a_run_goes(stack: Stack) -> None:
    stack.origami.script(RunScript(polls=1000))
    event = payloads.app_mention("find founders")
    stack.slack.add_message(event["channel"], event["text"], ts=event["ts"])
    await post_event(stack, event)

    async def running() -> bool:
        return bool(stack.origami.requests("POST", "/agents"))

    await stack.until(running)
    thread = ThreadRef(payloads.TEAM_ID, event["channel"], event["ts"])
    intake = stack.core.conversations.intake
    user = payloads.USER_ID
    for i in range(QUEUE_MAX + 1):
        prompt = Prompt(text=f"and {i}", user_id=user, cause=f"{thread.channel}:reply-{i}")
        await intake.take(thread, prompt, may_start=False)
    too_long = Prompt(text="x" * 20_000, user_id=user, cause=f"{thread.channel}:long")
    await intake.take(thread, too_long, may_start=False)
    samples = await stack.scrape()
    assert value(samples, "prompts_queued_total") == QUEUE_MAX
    assert value(samples, "prompts_refused_total", reason="queue_full") == 1
    assert value(samples, "prompts_refused_total", reason="too_long") == 1
    assert value(samples, "runs_in_flight") == 1


async def test_slack_api_errors_are_counted_where_the_presenter_calls_fail(stack: Stack) -> None:
    thread = ThreadRef(payloads.TEAM_ID, payloads.CHANNEL_ID, payloads.new_ts())
    stack.slack.add_message(thread.channel, "hi", ts=thread.thread_ts)
    stack.slack.fail("chat.postMessage", error="channel_not_found")
    with pytest.raises(SlackApiError):
        await stack.presenter.slack.post(thread, Message(text="hello", blocks=[]))
    await stack.presenter.slack.post(thread, Message(text="hello", blocks=[]))  # fine again
    samples = await stack.scrape()
    errors = {ls: v for (n, ls), v in samples.items() if n == PREFIX + "slack_api_errors_total"}
    assert errors == {(("error", "channel_not_found"), ("method", "chat.postMessage")): 1}


async def test_budget_waits_are_counted_with_their_seconds(
    stores: Stores, redis_client: Any
) -> None:
    metrics = Metrics()
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        # The window moves on: the slot taken earlier leaves it.
        slept.append(seconds)
        await redis_client.delete(keys.origami_budget())

    budget = RequestBudget(redis_client, BudgetRule.of(1), sleep=sleep)
    budget.on_wait = metrics.budget_waited
    await budget.acquire(Priority.USER)  # the one slot a minute
    await budget.acquire(Priority.USER)  # waits for it
    get = metrics.registry.get_sample_value
    assert get(PREFIX + "origami_budget_waits_total", {"priority": "user"}) == 1
    assert get(PREFIX + "origami_budget_wait_seconds_total", {"priority": "user"}) == pytest.approx(
        sum(slept)
    )
    assert len(slept) == 1 and slept[0] > 50  # a minute's window, less what passed


async def test_polls_held_back_by_the_budget_are_counted_as_waits(stack: Stack) -> None:
    stack.core.watcher.budget = BudgetRule.of(2)  # one poll a minute, one slot for people
    stack.origami.script(RunScript(polls=1000))
    event = payloads.app_mention("find founders")
    stack.slack.add_message(event["channel"], event["text"], ts=event["ts"])
    await post_event(stack, event)

    async def held_back() -> bool:
        return bool(
            stack.metrics.registry.get_sample_value(
                PREFIX + "origami_budget_waits_total", {"priority": "poll"}
            )
        )

    await stack.until(held_back)
    samples = await stack.scrape()
    assert value(samples, "origami_budget_wait_seconds_total", priority="poll") > 1
