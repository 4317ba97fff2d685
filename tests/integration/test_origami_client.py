"""OrigamiClient over real HTTP against the fake Origami server.

Retries sleep through a recording ``sleep`` so backoff is asserted, not waited for; only
the timeout tests spend real time (a few tenths of a second each).
"""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from bot.origami import errors
from bot.origami.client import OrigamiClient, Poll, RetryPolicy, build_http_client
from bot.origami.documents import attachment_json
from bot.origami.models import Run, RunStatus
from tests.fakes.origami import (
    FREEFORM_OPTION,
    TOP_UP_URL,
    UPLOAD_MAX_FILES,
    FakeAgent,
    FakeOrigami,
    RunScript,
    confirm,
    make_table,
    next_action,
    single_choice,
)

POLICY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05, total_budget=300.0)


class RecordingSleep:
    """Stands in for ``asyncio.sleep``: records each delay and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
async def fake() -> AsyncIterator[FakeOrigami]:
    async with FakeOrigami(retry_after="0.2") as server:
        yield server


@pytest.fixture
def sleeps() -> RecordingSleep:
    return RecordingSleep()


ClientFactory = Callable[..., OrigamiClient]


@pytest.fixture
async def make_client(fake: FakeOrigami, sleeps: RecordingSleep) -> AsyncIterator[ClientFactory]:
    made: list[OrigamiClient] = []

    def factory(
        *, timeout: float = 5.0, retry: RetryPolicy = POLICY, api_key: str | None = None
    ) -> OrigamiClient:
        key = fake.api_key if api_key is None else api_key
        client = OrigamiClient(
            build_http_client(fake.url, key, timeout=timeout), retry=retry, sleep=sleeps
        )
        made.append(client)
        return client

    yield factory
    for client in made:
        await client.aclose()


@pytest.fixture
def client(make_client: ClientFactory) -> OrigamiClient:
    return make_client()


async def poll_to_end(client: OrigamiClient, run: Run, max_polls: int = 10) -> list[Poll]:
    """Poll until terminal (bounded); every poll, in order."""
    polls: list[Poll] = []
    for _ in range(max_polls):
        poll = await client.get_run(run.agent_id, run.id)
        polls.append(poll)
        if poll.retry_after is None:
            return polls
    raise AssertionError(f"run {run.id} still running after {max_polls} polls")


# -- create and poll -------------------------------------------------------------------------


async def test_create_agent_sends_the_prompt_and_returns_the_running_run(
    fake: FakeOrigami, client: OrigamiClient
) -> None:
    prompt = "Find seed-stage fintech founders in Berlin. " * 6  # 264 chars
    created = await client.create_agent(prompt, idempotency_key="evt-1", name="Berlin fintech")

    [request] = fake.requests()
    assert (request.method, request.path) == ("POST", "/agents")
    assert request.body == {"prompt": prompt.strip(), "name": "Berlin fintech"}
    assert request.headers["Idempotency-Key"] == "evt-1"
    assert request.headers["Authorization"] == f"Bearer {fake.api_key}"
    assert request.status == 202

    assert list(fake.agents) == [created.agent.id]
    assert created.agent.name == "Berlin fintech"
    assert created.workspace is not None
    assert created.workspace.created_by_api is True
    assert created.agent.workspace_id == created.workspace.id
    run = created.run
    assert run.id.startswith("v2_run-")
    assert run.id in fake.runs
    assert run.agent_id == created.agent.id
    assert run.status is RunStatus.RUNNING
    assert run.status_raw == "running"
    assert run.response is None
    assert run.todo.pending_questions == []
    assert run.todo.next_actions == []
    assert (run.steps.completed, run.steps.max) == (0, 50)
    assert len(run.prompt) == 200
    assert run.prompt == prompt.strip()[:199] + "…"
    assert fake.runs[run.id].prompt == prompt.strip()
    assert run.model == "origami-max"


async def test_poll_reports_progress_with_retry_after_then_the_completed_run(
    fake: FakeOrigami, client: OrigamiClient
) -> None:
    table = make_table("Fintech founders, Berlin", 40, running_cells=6, qualified=22, credits=150)
    fake.script(
        RunScript(
            polls=2,
            text="I found 40 founders; 22 fit your brief.",
            tables=[table],
            next_actions=[
                next_action("Find 40 more", "find_more_leads"),
                next_action("Write intro emails"),
            ],
        )
    )
    created = await client.create_agent("find founders", idempotency_key="evt-2")
    polls = await poll_to_end(client, created.run)

    assert [p.run.status for p in polls] == [
        RunStatus.RUNNING,
        RunStatus.RUNNING,
        RunStatus.COMPLETED,
    ]
    assert [p.retry_after for p in polls] == [0.2, 0.2, None]
    assert [p.run.steps.completed for p in polls] == [1, 2, 3]
    assert [p.run.response is None for p in polls] == [True, True, False]
    gets = fake.requests("GET")
    assert [r.query for r in gets] == [{"include": "stats"}] * 3
    assert [r.response_headers.get("Retry-After") for r in gets] == ["0.2", "0.2", None]

    done = polls[-1].run
    assert done.response is not None
    assert done.response.text == "I found 40 founders; 22 fit your brief."
    assert done.completed_at is not None
    [got] = done.response.tables
    agent = fake.agents[created.agent.id]
    assert got.id == table["id"]
    assert got.name == "Fintech founders, Berlin"
    assert got.url == f"https://origami.chat/workspace/{agent.workspace_id}?table={table['id']}"
    assert got.workspace_id == agent.workspace_id
    assert got.lead_count == 40
    assert (got.cells.running, got.cells.errored) == (6, 0)
    assert got.is_enriching is True
    assert got.credits.lifetime_used == 150
    assert [c.slug for c in got.columns] == [
        "name",
        "title",
        "company",
        "linkedin_url",
        "work_email",
        "fit_score",
    ]
    assert [c.kind for c in got.columns] == [
        "input",
        "input",
        "input",
        "input",
        "enrichment",
        "score",
    ]
    assert sum(c.credits.lifetime_used for c in got.columns) == 150
    assert got.stats is not None
    assert got.qualified_leads == 22
    assert got.stats.credits_per_lead == 3.75
    assert got.stats.running is not None
    assert got.stats.running.running_leads == 6
    score = got.columns[-1]
    assert score.qualification is not None
    assert score.qualification.pass_ == 22
    assert score.qualification.total == 40
    assert [(a.type, a.table_id) for a in done.response.actions] == [
        ("table_created", table["id"]),
        ("column_added", table["id"]),
        ("leads_added", table["id"]),
    ]
    assert done.response.actions[2].lead_count == 40
    assert [(n.label, n.type) for n in done.todo.next_actions] == [
        ("Find 40 more", "find_more_leads"),
        ("Write intro emails", None),
    ]


TERMINAL_CASES: list[tuple[str, RunStatus, str | None]] = [
    ("completed", RunStatus.COMPLETED, "Here are your leads."),
    ("needs_input", RunStatus.NEEDS_INPUT, "Two questions first."),
    ("incomplete", RunStatus.INCOMPLETE, "I stopped half way."),
    ("step_cap_hit", RunStatus.STEP_CAP_HIT, "Out of steps."),
    ("cancelled", RunStatus.CANCELLED, "Stopped."),
    ("errored", RunStatus.ERRORED, None),
    ("timed_out", RunStatus.TIMED_OUT, None),
    ("superseded", RunStatus.UNKNOWN, "A status this build has never seen."),
]


@pytest.mark.parametrize(
    ("raw", "status", "text"), TERMINAL_CASES, ids=[c[0] for c in TERMINAL_CASES]
)
async def test_each_terminal_status_parses_with_its_content(
    fake: FakeOrigami, client: OrigamiClient, raw: str, status: RunStatus, text: str | None
) -> None:
    questions = [
        single_choice("Which region?", ["DACH", "Nordics", "All of Europe"]),
        confirm("Shall I spend about 40 credits on emails?"),
    ]
    tables = [] if raw == "needs_input" else [make_table("Partial list", 7)]
    fake.script(
        RunScript(
            status=raw,
            polls=0,
            text="ignored: failed runs carry no text" if text is None else text,
            tables=tables,
            pending_questions=questions if raw == "needs_input" else [],
            steps_max=30,
        )
    )
    created = await client.create_agent("find founders", idempotency_key=f"evt-{raw}")
    [poll] = await poll_to_end(client, created.run)

    run = poll.run
    assert poll.retry_after is None
    assert run.status is status
    assert run.status_raw == raw
    assert run.status.is_terminal is True
    assert run.response is not None
    assert run.response.text == text
    assert [t.lead_count for t in run.response.tables] == [7] * len(tables)
    assert run.steps.max == 30
    assert run.steps.completed == (30 if raw == "step_cap_hit" else 1)
    if raw == "needs_input":
        single, approval = run.todo.pending_questions
        assert (single.type, single.question) == ("single-choice", "Which region?")
        assert single.suggested_answers == ["DACH", "Nordics", "All of Europe"]
        assert single.freeform_option == FREEFORM_OPTION
        assert (approval.type, approval.suggested_answers) == ("confirm", ["Confirm"])
        assert approval.question == "Shall I spend about 40 credits on emails?"
    else:
        assert run.todo.pending_questions == []
    [get] = fake.requests("GET")
    assert "Retry-After" not in get.response_headers


async def test_answering_a_question_starts_the_next_run_on_the_same_agent(
    fake: FakeOrigami, client: OrigamiClient
) -> None:
    fake.script(RunScript(status="needs_input", polls=0), RunScript(polls=0))
    created = await client.create_agent("find founders", idempotency_key="evt-3")
    [asked] = await poll_to_end(client, created.run)
    assert asked.run.status is RunStatus.NEEDS_INPUT
    assert asked.run.todo.pending_questions[0].suggested_answers == [
        "DACH",
        "Nordics",
        "All of Europe",
    ]

    follow_up = await client.send_run(created.agent.id, "  DACH  ", idempotency_key="act-1")
    assert follow_up.status is RunStatus.RUNNING
    assert follow_up.agent_id == created.agent.id
    assert follow_up.request is not None
    assert follow_up.request.prompt == "DACH"
    [post] = fake.requests("POST", f"/agents/{created.agent.id}/runs")
    assert post.body == {"prompt": "DACH"}
    assert post.headers["Idempotency-Key"] == "act-1"
    assert fake.runs_started(created.agent.id) == 2
    assert len(fake.agents) == 1
    [done] = await poll_to_end(client, follow_up)
    assert done.run.status is RunStatus.COMPLETED


async def test_stats_are_only_there_when_asked_for(
    fake: FakeOrigami, client: OrigamiClient
) -> None:
    fake.script(RunScript(polls=0, tables=[make_table("Leads", 12, qualified=5)]))
    created = await client.create_agent("find founders", idempotency_key="evt-4")
    plain = await client.get_run(created.agent.id, created.run.id, include_stats=False)
    rich = await client.get_run(created.agent.id, created.run.id, include_stats=True)

    assert [r.query for r in fake.requests("GET")] == [{}, {"include": "stats"}]
    assert plain.run.response is not None and rich.run.response is not None
    [bare], [full] = plain.run.response.tables, rich.run.response.tables
    assert bare.stats is None
    assert bare.qualified_leads is None
    assert [c.stats for c in bare.columns] == [None] * 6
    assert [c.qualification for c in bare.columns] == [None] * 6
    assert full.stats is not None
    assert full.qualified_leads == 5
    assert full.columns[-1].qualification is not None


# -- error families --------------------------------------------------------------------------


async def test_revoked_key_raises_unauthorized_without_retrying(
    fake: FakeOrigami, client: OrigamiClient, sleeps: RecordingSleep
) -> None:
    fake.revoke_key()
    with pytest.raises(errors.Unauthorized) as caught:
        await client.create_agent("find founders", idempotency_key="evt-5")
    assert caught.value.status == 401
    assert caught.value.code == "UNAUTHORIZED"
    assert caught.value.body.error == "Invalid API key"
    assert len(fake.requests()) == 1
    assert fake.agents == {}
    assert sleeps.delays == []


async def test_a_wrong_key_raises_unauthorized(
    fake: FakeOrigami, make_client: ClientFactory
) -> None:
    client = make_client(api_key="og_live_" + "x" * 40)
    with pytest.raises(errors.Unauthorized) as caught:
        await client.get_table("00000000-0000-4000-8000-000000000000")
    assert caught.value.body.error == "Invalid API key"
    assert len(fake.requests()) == 1


BILLING_CASES: list[tuple[str, type[errors.PaymentRequired]]] = [
    ("INSUFFICIENT_CREDITS", errors.InsufficientCredits),
    ("SUBSCRIPTION_REQUIRED", errors.SubscriptionRequired),
    ("BUDGET_EXCEEDED", errors.BudgetExceeded),
    ("ACCOUNT_BLOCKED", errors.AccountBlocked),
]


@pytest.mark.parametrize(("code", "cls"), BILLING_CASES, ids=[c[0] for c in BILLING_CASES])
async def test_each_billing_refusal_raises_its_class_with_its_data(
    fake: FakeOrigami,
    client: OrigamiClient,
    sleeps: RecordingSleep,
    code: Any,
    cls: type[errors.PaymentRequired],
) -> None:
    fake.billing_error(code)
    with pytest.raises(errors.PaymentRequired) as caught:
        await client.create_agent("find founders", idempotency_key="evt-6")
    exc = caught.value
    assert type(exc) is cls
    assert (exc.status, exc.code) == (402, code)
    assert len(fake.requests()) == 1
    assert fake.agents == {}
    assert sleeps.delays == []
    if isinstance(exc, errors.InsufficientCredits):
        assert exc.top_up_url == TOP_UP_URL
        assert exc.fix_url == TOP_UP_URL
        assert (exc.body.credits_required, exc.body.credits_available) == (5, 2)
        assert exc.body.message == "Origami needs at least 5 credits to start any run; you have 2."
    elif isinstance(exc, errors.SubscriptionRequired):
        url = "https://origami.chat/settings/billing?source=api&intent=upgrade"
        assert exc.handoff_url == url
        assert exc.fix_url == url
        assert exc.body.handoff is not None
        assert (exc.body.handoff.kind, exc.body.handoff.label) == ("upgrade-plan", "Upgrade plan")
        assert exc.body.hint == "API access needs a paid plan. Upgrade in Settings → Billing."
    elif isinstance(exc, errors.BudgetExceeded):
        assert exc.blocked_by_budgets == ["Marketing Q3"]
        assert exc.fix_url is None
    else:
        assert isinstance(exc, errors.AccountBlocked)
        assert exc.reason == "payment_failed"
        assert exc.fix_url is None


async def test_billing_handoff_wins_over_top_up_url_and_follow_ups_are_refused_too(
    fake: FakeOrigami, client: OrigamiClient
) -> None:
    fake.script(RunScript(polls=0))
    created = await client.create_agent("find founders", idempotency_key="evt-7")
    await poll_to_end(client, created.run)
    handoff = {"kind": "billing", "url": "https://origami.chat/b/fix", "label": "Top up"}
    fake.billing_error("INSUFFICIENT_CREDITS", handoff=handoff)
    with pytest.raises(errors.InsufficientCredits) as caught:
        await client.send_run(created.agent.id, "more please", idempotency_key="evt-8")
    assert caught.value.fix_url == "https://origami.chat/b/fix"
    assert caught.value.top_up_url == TOP_UP_URL
    assert fake.runs_started(created.agent.id) == 1


async def test_unknown_ids_raise_not_found_with_their_codes(
    fake: FakeOrigami, client: OrigamiClient
) -> None:
    fake.script(RunScript(polls=None))
    created = await client.create_agent("find founders", idempotency_key="evt-9")
    missing = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(errors.NotFound) as run_missing:
        await client.get_run(created.agent.id, "v2_run-doesnotexist")
    with pytest.raises(errors.NotFound) as agent_missing:
        await client.send_run(missing, "hello", idempotency_key="evt-10")
    with pytest.raises(errors.NotFound) as table_missing:
        await client.get_table(missing)
    with pytest.raises(errors.NotFound) as agent_gone:
        await client.cancel(missing, idempotency_key="stop-9")
    assert [e.value.code for e in (run_missing, agent_missing, table_missing, agent_gone)] == [
        "RUN_NOT_FOUND",
        "AGENT_NOT_FOUND",
        "TABLE_NOT_FOUND",
        "AGENT_NOT_FOUND",
    ]
    assert len(fake.requests()) == 5


async def test_a_prompt_too_long_in_utf16_is_refused_before_it_is_sent(
    fake: FakeOrigami, client: OrigamiClient
) -> None:
    # 6,000 rockets are 6,000 code points but 12,000 UTF-16 units, as Origami (a TypeScript
    # server, like the fake) counts: refused here, with the count Origami would give.
    with pytest.raises(errors.PromptError) as caught:
        await client.create_agent("🚀" * 6000, idempotency_key="evt-11")
    assert caught.value.length == 12_000
    assert fake.requests() == []


async def test_server_validation_error_raises_invalid_request_with_issues(
    fake: FakeOrigami, client: OrigamiClient
) -> None:
    issue = {"path": "prompt", "message": "String must contain at most 10000 character(s)"}
    fake.fail_next(
        1,
        400,
        path_prefix="/agents",
        body={
            "error": "Invalid request body",
            "code": "VALIDATION_ERROR",
            "details": {"issues": [issue]},
        },
    )
    with pytest.raises(errors.InvalidRequest) as caught:
        await client.create_agent("find founders", idempotency_key="evt-11")
    exc = caught.value
    assert (exc.status, exc.code) == (400, "VALIDATION_ERROR")
    assert [(i.path, i.message) for i in exc.issues] == [(issue["path"], issue["message"])]
    assert len(fake.requests()) == 1
    assert fake.agents == {}


async def test_follow_up_on_a_busy_agent_raises_agent_busy_with_the_current_run(
    fake: FakeOrigami, client: OrigamiClient, sleeps: RecordingSleep
) -> None:
    fake.script(RunScript(polls=None))
    created = await client.create_agent("find founders", idempotency_key="evt-12")
    with pytest.raises(errors.AgentBusy) as caught:
        await client.send_run(created.agent.id, "and CTOs too", idempotency_key="evt-13")
    current = caught.value.current_run
    assert current is not None
    assert (current.id, current.started_at) == (created.run.id, created.run.started_at)
    assert caught.value.status == 409
    assert fake.runs_started(created.agent.id) == 1
    assert len(fake.requests("POST")) == 2
    assert sleeps.delays == []


async def test_reusing_an_idempotency_key_for_another_prompt_raises_conflict(
    fake: FakeOrigami, client: OrigamiClient, sleeps: RecordingSleep
) -> None:
    await client.create_agent("find founders", idempotency_key="evt-14")
    with pytest.raises(errors.IdempotencyConflict) as caught:
        await client.create_agent("find CTOs", idempotency_key="evt-14")
    assert (caught.value.status, caught.value.code) == (409, "IDEMPOTENCY_ERROR")
    assert len(fake.agents) == 1
    assert [r.status for r in fake.requests("POST")] == [202, 409]
    assert sleeps.delays == []  # a first-attempt conflict is a real one: not retried


async def test_full_org_raises_concurrency_limited_and_frees_the_slot_when_a_run_ends(
    fake: FakeOrigami, client: OrigamiClient, sleeps: RecordingSleep
) -> None:
    fake.concurrency_limit = 1
    fake.script(RunScript(polls=None), RunScript(polls=None))
    first = await client.create_agent("find founders", idempotency_key="evt-15", name="Founders")
    with pytest.raises(errors.ConcurrencyLimited) as caught:
        await client.create_agent("find CTOs", idempotency_key="evt-16")
    exc = caught.value
    assert (exc.status, exc.code) == (429, "CONCURRENT_LIMIT_EXCEEDED")
    assert exc.retry_after == 60.0
    assert exc.limit == 1
    assert [(s.agent_id, s.name, s.started_at) for s in exc.active_sessions] == [
        (first.agent.id, "Founders", first.run.started_at)
    ]
    assert exc.body.can_upgrade is True
    assert sleeps.delays == []  # a full org is not retried by the client
    assert len(fake.agents) == 1

    fake.finish(first.run.id)
    second = await client.create_agent("find CTOs", idempotency_key="evt-17")
    assert len(fake.agents) == 2
    assert second.run.status is RunStatus.RUNNING


async def test_request_rate_limit_is_retried_then_raised(
    fake: FakeOrigami, client: OrigamiClient, sleeps: RecordingSleep
) -> None:
    fake.rate_limit_per_minute = 1
    missing = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(errors.NotFound):
        await client.get_table(missing)  # spends the whole budget
    with pytest.raises(errors.RequestRateLimited) as caught:
        await client.get_table(missing)
    assert (caught.value.status, caught.value.code) == (429, "RATE_LIMITED")
    assert caught.value.retry_after == 60.0
    assert [r.status for r in fake.requests()] == [404, 429, 429, 429]
    assert sleeps.delays == [60.0, 60.0]  # attempts=3: two waits, each the full Retry-After


async def test_retry_after_on_a_429_is_honoured(
    fake: FakeOrigami, client: OrigamiClient, sleeps: RecordingSleep
) -> None:
    fake.add_table(make_table("Seeded", 3))
    [table_id] = list(fake.tables)
    fake.fail_next(1, status=429, retry_after="3")
    table = await client.get_table(table_id)
    assert table.id == table_id
    assert sleeps.delays == [3.0]
    assert [r.status for r in fake.requests()] == [429, 200]


async def test_retry_after_beyond_the_budget_raises_at_once(
    fake: FakeOrigami, make_client: ClientFactory, sleeps: RecordingSleep
) -> None:
    client = make_client(retry=RetryPolicy(attempts=3, base_delay=0.01, total_budget=10.0))
    fake.fail_next(1, status=429, retry_after="30")
    with pytest.raises(errors.RequestRateLimited) as caught:
        await client.get_table("00000000-0000-4000-8000-000000000000")
    assert caught.value.retry_after == 30.0
    assert sleeps.delays == []
    assert len(fake.requests()) == 1


# -- transient failures and idempotency ------------------------------------------------------


async def test_a_5xx_then_success_creates_one_agent_under_one_key(
    fake: FakeOrigami, client: OrigamiClient, sleeps: RecordingSleep
) -> None:
    fake.fail_next(1, status=503, path_prefix="/agents", method="POST")
    created = await client.create_agent("find founders", idempotency_key="evt-18")
    posts = fake.requests("POST", "/agents")
    assert [r.status for r in posts] == [503, 202]
    assert [r.headers["Idempotency-Key"] for r in posts] == ["evt-18", "evt-18"]
    assert [r.body for r in posts] == [{"prompt": "find founders"}] * 2
    assert [r.replayed for r in posts] == [False, False]  # a 5xx is never stored
    assert list(fake.agents) == [created.agent.id]
    assert len(sleeps.delays) == 1
    assert 0.0 <= sleeps.delays[0] <= 0.01


async def test_a_dropped_connection_then_success_creates_one_agent(
    fake: FakeOrigami, client: OrigamiClient
) -> None:
    fake.drop_next(1, method="POST")
    created = await client.create_agent("find founders", idempotency_key="evt-19")
    posts = fake.requests("POST", "/agents")
    assert [(r.status, r.fault) for r in posts] == [(None, "drop"), (202, None)]
    assert [r.headers["Idempotency-Key"] for r in posts] == ["evt-19", "evt-19"]
    assert list(fake.agents) == [created.agent.id]


async def test_an_answer_lost_after_the_agent_was_made_is_replayed_not_redone(
    fake: FakeOrigami, client: OrigamiClient
) -> None:
    fake.drop_next(1, method="POST", after_execute=True)
    created = await client.create_agent("find founders", idempotency_key="evt-20")
    posts = fake.requests("POST", "/agents")
    assert [(r.fault, r.replayed) for r in posts] == [("drop", False), (None, True)]
    assert [r.headers["Idempotency-Key"] for r in posts] == ["evt-20", "evt-20"]
    assert list(fake.agents) == [created.agent.id]
    assert list(fake.runs) == [created.run.id]


async def test_a_timed_out_poll_is_retried(fake: FakeOrigami, make_client: ClientFactory) -> None:
    client = make_client(timeout=0.3)
    fake.script(RunScript(polls=0))
    created = await client.create_agent("find founders", idempotency_key="evt-21")
    fake.delay_next(1, 2.0, method="GET")
    poll = await client.get_run(created.agent.id, created.run.id)
    assert poll.run.status is RunStatus.COMPLETED
    assert [r.fault for r in fake.requests("GET")] == ["delay", None]


async def test_a_timed_out_create_is_retried_and_replayed(
    fake: FakeOrigami, make_client: ClientFactory
) -> None:
    client = make_client(timeout=0.3)
    fake.delay_next(1, 2.0, method="POST")
    created = await client.create_agent("find founders", idempotency_key="evt-22")
    posts = fake.requests("POST")
    assert [(r.fault, r.replayed, r.status) for r in posts] == [
        ("delay", False, 202),
        (None, True, 202),
    ]
    assert list(fake.agents) == [created.agent.id]


async def test_a_slow_admission_is_waited_out_not_reported_as_a_conflict(
    fake: FakeOrigami,
) -> None:
    # The first attempt times out while the server is still admitting it; the retry meets
    # 409 IDEMPOTENCY_ERROR (original in flight), and the next one gets the replay.
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)
        if len(delays) > 1:  # let the original finish before the third attempt
            await fake.wait_for(lambda: fake.requests("POST")[0].status is not None, 5.0)

    client = OrigamiClient(
        build_http_client(fake.url, fake.api_key, timeout=0.2), retry=POLICY, sleep=sleep
    )
    fake.delay_next(1, 0.5, method="POST", after_execute=False)
    try:
        created = await client.create_agent("find founders", idempotency_key="evt-29")
    finally:
        await client.aclose()
    posts = fake.requests("POST")
    assert [(r.status, r.replayed) for r in posts] == [(202, False), (409, False), (202, True)]
    assert posts[1].response_headers.get("Content-Type", "").startswith("application/json")
    assert list(fake.agents) == [created.agent.id]
    assert len(delays) == 2


async def test_persistent_5xx_raises_server_error_after_the_policy_attempts(
    fake: FakeOrigami, client: OrigamiClient, sleeps: RecordingSleep
) -> None:
    fake.fail_next(10, status=503)
    with pytest.raises(errors.ServerError) as caught:
        await client.create_agent("find founders", idempotency_key="evt-23")
    assert (caught.value.status, caught.value.code) == (503, "INTERNAL_ERROR")
    assert len(fake.requests()) == POLICY.attempts
    assert len(sleeps.delays) == POLICY.attempts - 1
    assert fake.agents == {}


async def test_persistent_drops_raise_unreachable_after_the_policy_attempts(
    fake: FakeOrigami, client: OrigamiClient
) -> None:
    fake.drop_next(10)
    with pytest.raises(errors.OrigamiUnreachable) as caught:
        await client.get_table("00000000-0000-4000-8000-000000000000")
    assert isinstance(caught.value.__cause__, httpx.RemoteProtocolError)
    assert len(fake.requests()) == POLICY.attempts


# -- prompts refused before sending ----------------------------------------------------------


PROMPT_CASES: list[tuple[str, str, int]] = [
    ("too-long", "x" * 10_001, 10_001),
    ("empty", "", 0),
    ("whitespace", "  \n\t ", 0),
]


@pytest.mark.parametrize(
    ("case", "prompt", "length"), PROMPT_CASES, ids=[c[0] for c in PROMPT_CASES]
)
async def test_bad_prompts_never_reach_the_server(
    fake: FakeOrigami, client: OrigamiClient, case: str, prompt: str, length: int
) -> None:
    agent = FakeAgent(id=str(uuid.uuid4()), name="a", workspace_id=str(uuid.uuid4()), created_at=0)
    fake.agents[agent.id] = agent
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: client.create_agent(prompt, idempotency_key=f"evt-{case}"),
        lambda: client.send_run(agent.id, prompt, idempotency_key=f"run-{case}"),
    ]
    for call in calls:
        with pytest.raises(errors.PromptError) as caught:
            await call()
        assert caught.value.length == length
    assert fake.requests() == []


async def test_a_prompt_of_exactly_ten_thousand_chars_is_sent(
    fake: FakeOrigami, client: OrigamiClient
) -> None:
    created = await client.create_agent("y" * 10_000, idempotency_key="evt-24")
    [post] = fake.requests("POST")
    assert post.body == {"prompt": "y" * 10_000}
    assert fake.runs[created.run.id].prompt == "y" * 10_000


# -- cancel and tables -----------------------------------------------------------------------


async def test_cancel_is_cooperative_and_idempotent(
    fake: FakeOrigami, client: OrigamiClient
) -> None:
    fake.script(RunScript(polls=None, tables=[make_table("Half done", 9)]))
    created = await client.create_agent("find founders", idempotency_key="evt-25")
    agent_id = created.agent.id

    flagged = await client.cancel(agent_id, idempotency_key="stop-1")
    assert flagged is not None
    assert (flagged.id, flagged.status) == (created.run.id, RunStatus.RUNNING)
    [post] = fake.requests("POST", f"/agents/{agent_id}/cancel")
    assert post.raw_body == b""
    assert post.headers["Idempotency-Key"] == "stop-1"

    [poll] = await poll_to_end(client, created.run)
    assert poll.run.status is RunStatus.CANCELLED
    assert poll.run.response is not None
    assert (
        poll.run.response.text == "Stopped. Everything found before the stop is kept in the table."
    )
    assert [t.name for t in poll.run.response.tables] == ["Half done"]

    replay = await client.cancel(agent_id, idempotency_key="stop-1")
    again = await client.cancel(agent_id, idempotency_key="stop-2")
    assert replay is not None and again is not None
    assert replay.status is RunStatus.RUNNING  # the stored first answer, verbatim
    assert again.status is RunStatus.CANCELLED
    posts = fake.requests("POST", f"/agents/{agent_id}/cancel")
    assert [(r.status, r.replayed) for r in posts] == [(200, False), (200, True), (200, False)]


async def test_cancel_on_an_agent_that_never_ran_returns_none(
    fake: FakeOrigami, client: OrigamiClient
) -> None:
    agent = FakeAgent(
        id=str(uuid.uuid4()), name="idle", workspace_id=str(uuid.uuid4()), created_at=0
    )
    fake.agents[agent.id] = agent
    assert await client.cancel(agent.id, idempotency_key="stop-3") is None


async def test_get_table_with_stats_and_enrichment_settling(
    fake: FakeOrigami, client: OrigamiClient
) -> None:
    table_id = fake.add_table(make_table("Berlin CTOs", 30, running_cells=4, qualified=12))
    enriching = await client.get_table(table_id)
    fake.finish_enrichment(table_id)
    settled = await client.get_table(table_id)
    bare = await client.get_table(table_id, include_stats=False)

    assert [r.query for r in fake.requests()] == [{"include": "stats"}] * 2 + [{}]
    assert enriching.is_enriching is True
    assert enriching.stats is not None and enriching.stats.running is not None
    assert enriching.stats.running.running_leads == 4
    assert enriching.stats.running.oldest_active_run_started_at is not None
    assert settled.is_enriching is False
    assert settled.stats is not None and settled.stats.running is not None
    assert settled.stats.running.running_leads == 0
    assert settled.qualified_leads == 12
    assert settled.stats.qualification is not None
    assert settled.stats.qualification.rate == 0.4
    assert settled.stats.funnel is not None
    assert settled.stats.funnel.total_sourced_leads == 36
    assert [s.source for s in settled.stats.lead_sources] == ["historical"]
    assert bare.stats is None
    assert bare.lead_count == 30


async def test_table_rows_csv_round_trips_quotes_commas_and_accents(
    fake: FakeOrigami, client: OrigamiClient
) -> None:
    table_id = fake.add_table(make_table("Founders", 8))
    body = await client.table_rows_csv(table_id)

    [request] = fake.requests()
    assert request.path == f"/tables/{table_id}/rows"
    assert request.query == {"format": "csv", "limit": "200"}
    assert request.headers["Accept"] == "text/csv"
    text = body.decode("utf-8")
    assert '"Acme, Inc. (""the good one"")"' in text
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Name", "Title", "Company", "LinkedIn URL", "Work email", "Fit score"]
    slugs = ["name", "title", "company", "linkedin_url", "work_email", "fit_score"]
    expected = [[row[s] for s in slugs] for row in fake.table_rows(table_id)]
    assert rows[1:] == expected
    assert len(expected) == 8
    assert rows[1][0].startswith("Renée ")
    assert rows[1][2] == 'Acme, Inc. ("the good one")'


# -- the fake's own contract (raw HTTP) ------------------------------------------------------


@pytest.fixture
async def raw(fake: FakeOrigami) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=fake.url + "/", headers={"Authorization": f"Bearer {fake.api_key}"}
    ) as http:
        yield http


async def test_fake_validates_bodies_and_keys(raw: httpx.AsyncClient, fake: FakeOrigami) -> None:
    async with httpx.AsyncClient(base_url=fake.url + "/") as anonymous:
        no_key = await anonymous.get("agents")
    assert (no_key.status_code, no_key.json()) == (
        401,
        {"error": "Missing API key", "code": "UNAUTHORIZED"},
    )
    missing = await raw.post("agents", json={"name": "n" * 81})
    bad_key = await raw.post("agents", json={"prompt": "hi"}, headers={"Idempotency-Key": "a b"})
    assert missing.status_code == 400
    assert missing.json() == {
        "error": "Invalid request body",
        "code": "VALIDATION_ERROR",
        "details": {
            "issues": [
                {"path": "prompt", "message": "Required"},
                {"path": "name", "message": "String must contain at most 80 character(s)"},
            ]
        },
    }
    assert bad_key.status_code == 400
    assert bad_key.json()["details"]["issues"][0]["path"] == "Idempotency-Key"
    assert fake.agents == {}


async def test_fake_rejects_a_key_whose_original_is_in_flight(
    raw: httpx.AsyncClient, fake: FakeOrigami
) -> None:
    fake.delay_next(1, 0.5, method="POST", after_execute=False)
    original = asyncio.create_task(
        raw.post("agents", json={"prompt": "hi"}, headers={"Idempotency-Key": "k-1"})
    )
    await fake.wait_for(lambda: len(fake.requests("POST")) == 1, timeout=2.0)
    racing = await raw.post("agents", json={"prompt": "hi"}, headers={"Idempotency-Key": "k-1"})
    assert racing.status_code == 409
    assert racing.json() == {
        "error": "A request with this Idempotency-Key is still in flight",
        "code": "IDEMPOTENCY_ERROR",
    }
    assert (await original).status_code == 202
    assert len(fake.agents) == 1


async def test_fake_stores_4xx_answers_and_forgets_after_24_hours(
    raw: httpx.AsyncClient, fake: FakeOrigami
) -> None:
    fake.script(RunScript(polls=None))
    created = (await raw.post("agents", json={"prompt": "hi"})).json()
    agent_id, run_id = created["agent"]["id"], created["run"]["id"]
    headers = {"Idempotency-Key": "k-2"}
    busy = await raw.post(f"agents/{agent_id}/runs", json={"prompt": "more"}, headers=headers)
    fake.finish(run_id)
    replayed = await raw.post(f"agents/{agent_id}/runs", json={"prompt": "more"}, headers=headers)
    fake.advance(24 * 3600 + 1)
    fresh = await raw.post(f"agents/{agent_id}/runs", json={"prompt": "more"}, headers=headers)

    assert (busy.status_code, busy.json()["code"]) == (409, "AGENT_BUSY")
    assert "Idempotency-Replay" not in busy.headers
    assert replayed.status_code == 409
    assert replayed.content == busy.content
    assert replayed.headers["Idempotency-Replay"] == "true"
    assert fresh.status_code == 202
    assert fake.runs_started(agent_id) == 2


async def test_fake_rate_limit_headers(raw: httpx.AsyncClient, fake: FakeOrigami) -> None:
    fake.rate_limit_per_minute = 2
    first = await raw.get("agents")
    second = await raw.get("agents")
    third = await raw.get("agents")
    assert [r.status_code for r in (first, second, third)] == [200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining-Global"] for r in (first, second, third)] == [
        "1",
        "0",
        "0",
    ]
    assert {r.headers["X-RateLimit-Limit-Global"] for r in (first, second, third)} == {"2"}
    assert third.json() == {"error": "Rate limit exceeded", "code": "RATE_LIMITED"}
    assert third.headers["Retry-After"] == "60"


# -- workspaces and documents (files shared in Slack) --------------------------------------


async def test_documents_upload_into_a_workspace_and_attach_to_its_agent(
    fake: FakeOrigami, make_client: ClientFactory
) -> None:
    client = make_client()
    workspace = await client.create_workspace("find founders", idempotency_key="ws-1")
    assert await client.create_workspace("find founders", idempotency_key="ws-1") == workspace
    csv_file = await client.upload_document(
        workspace, "accounts.csv", b"Company\nFinlytic\n", "table", idempotency_key="doc-1"
    )
    pdf = await client.upload_document(
        workspace, "brief.pdf", b"%PDF-1.4", "document", idempotency_key="doc-2"
    )
    again = await client.upload_document(
        workspace, "accounts.csv", b"Company\nFinlytic\n", "table", idempotency_key="doc-1"
    )
    assert again == csv_file and len(fake.uploads()) == 2  # the replay uploaded nothing
    table, document = csv_file.attachment(), pdf.attachment()
    assert table is not None and table[0] == "table" and table[1] in fake.tables
    assert document is not None and document[0] == "document"
    attachments = [attachment_json(*table), attachment_json(*document)]
    created = await client.create_agent(
        "use these", idempotency_key="a-1", workspace_id=workspace, attachments=attachments
    )
    assert created.agent.workspace_id == workspace
    assert fake.runs[created.run.id].attachments == attachments
    agent = await client.get_agent(created.agent.id)
    assert agent.workspace_id == workspace


async def test_documents_refusals_are_the_documented_errors(
    fake: FakeOrigami, make_client: ClientFactory
) -> None:
    client = make_client()
    with pytest.raises(errors.NotFound):
        await client.upload_document(
            str(uuid.uuid4()), "a.csv", b"a\n", "table", idempotency_key="d-0"
        )
    workspace = await client.create_workspace("w", idempotency_key="ws-2")
    with pytest.raises(errors.InvalidRequest) as bad_mode:
        await client.upload_document(workspace, "a.pdf", b"%PDF", "table", idempotency_key="d-1")
    assert bad_mode.value.code == "INVALID_UPLOAD_MODE"
    async with httpx.AsyncClient(base_url=fake.url) as raw:
        auth = {"Authorization": f"Bearer {fake.api_key}"}
        files = [{"filename": f"{n}.txt", "content": "eA=="} for n in range(UPLOAD_MAX_FILES + 1)]
        too_many = await raw.post(
            f"/workspaces/{workspace}/documents", json={"files": files}, headers=auth
        )
        assert too_many.status_code == 413 and too_many.json()["code"] == "TOO_MANY_FILES"
        broken = await raw.post(
            f"/workspaces/{workspace}/documents",
            json={"files": [{"filename": "a.txt", "content": "not base64!"}]},
            headers=auth,
        )
        assert broken.status_code == 422 and broken.json()["code"] == "UPLOAD_FAILED"
    # A document of another workspace is out of the new agent's scope.
    other = await client.create_workspace("other", idempotency_key="ws-3")
    uploaded = await client.upload_document(other, "b.txt", b"x", "document", idempotency_key="d-2")
    found = uploaded.attachment()
    assert found is not None
    with pytest.raises(errors.InvalidRequest) as out_of_scope:
        await client.create_agent(
            "go",
            idempotency_key="a-2",
            workspace_id=workspace,
            attachments=[attachment_json(*found)],
        )
    assert out_of_scope.value.code == "INVALID_ATTACHMENT"
