"""What a process counts, in Prometheus' text format on ``GET /metrics``.

Each process (``python -m bot``, ``web`` or ``worker``) has its own registry, built with
everything else in ``bot.assembly`` (nothing here happens at import time), and serves it
on its own ``PORT``: a web process on its Slack app, a worker on a small server of its own
(``bot.worker.worker_web_app``). Prometheus scrapes each process as its own target, so
the target's labels (``instance``, ``job``) say which process counted what, and
``sum()`` over the targets is the app's. No series carries a role label: a process's
role is its scrape job's.

No series is labelled by workspace (team): the app may be installed in any number of
workspaces, and a label per team would grow with them (every label value is a series
kept in Prometheus). Per-team questions are for the logs, whose every line carries the
team. Every label here has a small, fixed set of values: Slack's payload types, Origami's
endpoints (templated: ``/agents/{id}/runs``) and statuses, Slack's Web API methods and
error codes, the two priorities of the request budget.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.exposition import choose_encoder
from slack_sdk.errors import SlackApiError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

log = logging.getLogger(__name__)

PREFIX = "origami_slack_"

# Slack wants its ack within 3 s: the buckets around it, and the milliseconds of a normal one.
ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 3.0, 5.0)
# A result is posted well within a second (the target: p95 under 200 ms); a slow Slack or
# its 429s can take a delivery up to its 120 s lease.
DELIVERY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0)

# Origami's endpoints this app calls, as the ``endpoint`` label shows them.
ORIGAMI_ENDPOINTS = frozenset(
    {
        "/agents",
        "/agents/{id}/runs",
        "/agents/{id}/runs/{id}",
        "/agents/{id}/cancel",
        "/tables/{id}",
        "/tables/{id}/rows",
        "/scheduled-agents",
        "/scheduled-agents/{id}",
        "/scheduled-agents/{id}/runs",
        "/scheduled-agents/{id}/enable",
        "/scheduled-agents/{id}/disable",
    }
)
_COLLECTIONS = ("agents", "tables", "scheduled-agents")
# A label value read from outside (a payload type, a Slack error code): short and plain, or
# "other", so that no caller can make new series without bound.
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9_.]{0,63}")
# How long a scrape waits for a figure read from Redis before it shows the last one.
REFRESH_TIMEOUT_S = 1.0


def plain(value: object) -> str:
    """``value`` as a label value: itself when short and plain, else ``"other"``."""
    return value if isinstance(value, str) and _PLAIN.fullmatch(value) else "other"


def origami_endpoint(path: object) -> str:
    """The templated endpoint of an Origami request's path (a relative path like
    ``agents/ag_1/runs``, or a full URL's path like ``/api/v2/agents/ag_1/runs/r_2``):
    ``/agents/{id}/runs``; ``"other"`` for a path this app does not call."""
    text = str(getattr(path, "path", path))  # an httpx.URL: its path
    segments = [s for s in text.split("?", 1)[0].split("/") if s]
    start = next((i for i, s in enumerate(segments) if s in _COLLECTIONS), None)
    if start is None:
        return "other"
    # Collections and ids alternate: /agents/{id}/runs/{id}. (By position, not by name:
    # an id may be any text.)
    shape = [s if i % 2 == 0 else "{id}" for i, s in enumerate(segments[start:])]
    endpoint = "/" + "/".join(shape)
    return endpoint if endpoint in ORIGAMI_ENDPOINTS else "other"


def event_type(body: object) -> str:
    """What a Slack request is, for the ``type`` label: the event's type for the Events
    API (``app_mention``, ``message``), else the payload's (``block_actions``,
    ``view_submission``, ``url_verification``)."""
    if not isinstance(body, dict):
        return "other"
    kind = body.get("type")
    event = body.get("event")
    if kind == "event_callback" and isinstance(event, dict):
        kind = event.get("type")
    return plain(kind)


class Metrics:
    """Every series one process exposes, on a registry of its own. Hooks in the code
    count into it: the web handler (events, acks), the Origami client (requests), the
    request budget (waits), the watcher (polls, deliveries), the sender (conversations),
    the intake (queued and refused replies), the Slack client (Web API errors)."""

    def __init__(self, *, process: bool = False) -> None:
        """``process``: also the process's own figures (``process_cpu_seconds_total``,
        ``process_resident_memory_bytes``, ``python_info``), for the app's processes;
        tests leave them out."""
        self.registry = registry = CollectorRegistry()
        if process:
            ProcessCollector(registry=registry)
            PlatformCollector(registry=registry)
        self._refreshers: list[Callable[[], Awaitable[None]]] = []

        def counter(name: str, doc: str, labels: tuple[str, ...] = ()) -> Counter:
            return Counter(PREFIX + name, doc, labels, registry=registry)

        # -- Slack's requests (the web half, HTTP mode) ------------------------------
        self.events_received = counter(
            "events_received_total",
            "Signed Slack requests handed to Bolt on POST /slack/events, by type (the "
            "event's type for the Events API, else the payload's). HTTP mode only: in "
            "Socket Mode Slack's requests come over the websocket.",
            ("type",),
        )
        self.events_acked = counter(
            "events_acked_total",
            "Slack requests answered with a 2xx on POST /slack/events (Bolt acks before its "
            "listeners run), by type. HTTP mode only.",
            ("type",),
        )
        self.ack_seconds = Histogram(
            PREFIX + "ack_duration_seconds",
            "From a Slack request's arrival on POST /slack/events to its answer, for the "
            "requests handed to Bolt (Slack wants its answer within 3 s). HTTP mode only.",
            buckets=ACK_BUCKETS,
            registry=registry,
        )
        self.requests_refused = counter(
            "requests_refused_total",
            "Requests on POST /slack/events refused before Bolt saw them, by status: 413 "
            "too large, 401 not signed by Slack, 400 malformed.",
            ("status",),
        )
        # -- conversations (the worker half) --------------------------------------------
        self.conversations_started = counter(
            "conversations_started_total",
            "Conversations started: a thread's agent created in Origami and its first run watched.",
        )
        self.runs_started = counter(
            "runs_started_total",
            "Runs Origami took and the app watches, by kind: start (a new agent) or follow "
            "(the thread's agent's next run).",
            ("kind",),
        )
        self.runs_in_flight = Gauge(
            PREFIX + "runs_in_flight",
            "Entries of the app's shared run schedule: runs in flight and prompts kept for "
            "sending, of all workers together, read from Redis when a process that runs the "
            "worker half is scraped. Every such process shows the same figure: aggregate "
            "with max(), not sum(). A web-only process shows 0.",
            registry=registry,
        )
        self.polls = counter(
            "polls_total", "Polls of a run in flight (GET of the run from Origami)."
        )
        self.deliveries = counter(
            "deliveries_total",
            "Ended runs whose result was delivered to their thread (outcome=posted), or "
            "whose delivery failed and is tried again (outcome=failed).",
            ("outcome",),
        )
        self.delivery_seconds = Histogram(
            PREFIX + "delivery_duration_seconds",
            "From the poll that saw a run end to its result posted in the thread.",
            buckets=DELIVERY_BUCKETS,
            registry=registry,
        )
        self.prompts_queued = counter(
            "prompts_queued_total",
            "Replies queued behind a run (or a prompt) their thread is busy with.",
        )
        self.prompts_refused = counter(
            "prompts_refused_total",
            "Replies refused before they were kept, their author told why, by reason: "
            "queue_full (50 replies waiting) or too_long (over Origami's prompt limit).",
            ("reason",),
        )
        # One per person and result: a second click by the same person is not counted.
        self.feedback_clicks = counter(
            "feedback_clicks_total",
            "Feedback on results, once per person and result, by verdict (good, bad).",
            ("verdict",),
        )
        # Once per run: the same run seen by two workers, or after a restart, is not counted.
        self.scheduled_runs_posted = counter(
            "scheduled_runs_posted_total",
            "Runs of schedules made from Slack, each posted as a new thread in its channel.",
        )
        # Learnt once per workspace (and kept a day): a rise is a workspace whose runs now
        # use the Stop button or the progress line.
        self.agent_refusals = counter(
            "agent_feature_refusals_total",
            "Slack refused an agent feature for a workspace (sessions, status): its runs "
            "use the fallback (the Stop button, the progress line) for a day.",
            ("feature",),
        )
        # -- Origami --------------------------------------------------------------------
        self.origami_requests = counter(
            "origami_requests_total",
            "HTTP requests to Origami, each attempt of a retried one counted, by method, "
            "templated endpoint and status (unreachable: no answer).",
            ("method", "endpoint", "status"),
        )
        self.origami_budget = Gauge(
            PREFIX + "origami_budget_requests_per_minute",
            "The Origami requests a minute all processes may make together "
            "(ORIGAMI_REQUESTS_PER_MINUTE; with many workspaces, per Origami organisation), "
            "by priority: user (a person's POST) or poll (polls leave the rest to people).",
            ("priority",),
            registry=registry,
        )
        self.budget_waits = counter(
            "origami_budget_waits_total",
            "Times an Origami request, or a claim of due polls, waited for the shared "
            "request budget, by priority.",
            ("priority",),
        )
        self.budget_wait_seconds = counter(
            "origami_budget_wait_seconds_total",
            "Seconds Origami requests and due polls waited for the shared request budget, "
            "by priority.",
            ("priority",),
        )
        self.polls_deferred = counter(
            "origami_polls_deferred_total",
            "Due polls rescheduled to when their Origami organisation's request budget has "
            "room (many workspaces), instead of standing in front of other organisations'.",
        )
        # -- Slack's Web API ------------------------------------------------------------
        self.slack_api_errors = counter(
            "slack_api_errors_total",
            "Slack Web API calls that failed, after slack_sdk's own retries, by method and "
            "error (Slack's error code, or the exception's class when Slack did not answer).",
            ("method", "error"),
        )

    # -- hooks ---------------------------------------------------------------------------

    def origami_answered(self, method: str, path: object, status: int | None) -> None:
        """One HTTP request to Origami answered with ``status`` (None: no answer)."""
        code = "unreachable" if status is None else str(status)
        self.origami_requests.labels(method, origami_endpoint(path), code).inc()

    def budget_waited(self, priority: object, seconds: float) -> None:
        """A request (or a claim of polls) of ``priority`` waits ``seconds`` for the budget."""
        label = plain(getattr(priority, "value", priority))
        self.budget_waits.labels(label).inc()
        self.budget_wait_seconds.labels(label).inc(seconds)

    def set_budget(self, per_minute: int, poll_limit: int) -> None:
        if per_minute >= 0:
            self.origami_budget.labels("user").set(per_minute)
            self.origami_budget.labels("poll").set(poll_limit)

    def delivered(self, seconds: float) -> None:
        self.deliveries.labels("posted").inc()
        self.delivery_seconds.observe(seconds)

    def slack_call_failed(self, method: str, exc: BaseException) -> None:
        if isinstance(exc, SlackApiError):
            try:
                error = exc.response["error"]
            except (KeyError, TypeError):
                error = None
        else:
            error = type(exc).__name__
        self.slack_api_errors.labels(plain(method), plain(error)).inc()

    # -- figures read when scraped -------------------------------------------------------

    def read_schedule_size(self, count: Callable[[], Awaitable[int]]) -> None:
        """``runs_in_flight`` is ``count()`` (the schedule's size) at each scrape."""

        async def refresh() -> None:
            self.runs_in_flight.set(await count())

        self._refreshers.append(refresh)

    async def refresh(self) -> None:
        """Read the figures that live in Redis; one that does not come in time keeps its
        last value (a scrape must answer, Redis down or not)."""
        for refresh in self._refreshers:
            try:
                await asyncio.wait_for(refresh(), REFRESH_TIMEOUT_S)
            except Exception as exc:
                log.debug("could not read a figure for /metrics", extra={"error": repr(exc)})

    async def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """The registry in the format the scraper accepts (Prometheus' text format, or
        OpenMetrics when asked for), and its content type."""
        await self.refresh()
        encode, content_type = choose_encoder(accept)
        return encode(self.registry), content_type


def metrics_route(metrics: Metrics) -> Route:
    """``GET /metrics`` for a process's Starlette app."""

    async def scrape(request: Request) -> Response:
        body, content_type = await metrics.exposition(request.headers.get("accept", ""))
        return Response(body, headers={"Content-Type": content_type})

    return Route("/metrics", scrape, methods=["GET"])


def count_slack_errors(client: Any, metrics: Metrics) -> None:
    """Count every Web API call of ``client`` (a slack_sdk ``AsyncWebClient``) that fails,
    by method and error. Every method of the client (``chat_postMessage``,
    ``files_upload_v2``'s steps, …) goes through its ``api_call``, which raises once
    slack_sdk's own retries are spent: the one place to see every call the presenter
    makes fail, whichever module makes it."""
    call = client.api_call

    async def api_call(api_method: str, **kwargs: Any) -> Any:
        try:
            return await call(api_method, **kwargs)
        except Exception as exc:
            metrics.slack_call_failed(api_method, exc)
            raise

    client.api_call = api_call
