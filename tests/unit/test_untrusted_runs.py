"""Property tests (hypothesis): any run Origami sends, valid or broken in one field, parses
and renders into messages Slack takes.

A valid run is generated, then one field anywhere in it (a key at any depth, an item of any
list) is replaced by a JSON value of another type, or removed. Parsing never raises (but for
a run's ``id``, the one field nothing can be done without), and every builder the delivery
calls makes messages the fake Slack's validator accepts.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.domain import Answer
from bot.origami import errors, tolerant
from bot.origami.client import OrigamiClient, RetryPolicy, build_http_client
from bot.origami.models import Run, RunStatus
from bot.slack.blocks import (
    Message,
    build_progress,
    build_progress_final,
    build_questions,
    build_questions_closed,
    build_result,
    build_shared_table,
    result_overflow,
)
from tests.fakes.slack import MAX_UPDATE_TEXT, message_errors

PROPERTY_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

Path = tuple[str | int, ...]

# -- a valid run ---------------------------------------------------------------------------

_texts = st.text(max_size=40)
_ids = st.from_regex(r"[A-Za-z0-9_-]{1,24}", fullmatch=True)
_counts = st.integers(min_value=0, max_value=10_000)
_times = st.sampled_from(["2026-07-20T10:00:00.000Z", "2026-07-20T10:03:12+02:00"])
_statuses = st.sampled_from([s.value for s in RunStatus if s is not RunStatus.UNKNOWN] + ["new"])


@st.composite
def _table(draw: st.DrawFn) -> dict[str, Any]:
    table_id = draw(_ids)
    return {
        "object": "table",
        "id": table_id,
        "workspaceId": draw(st.none() | _ids),
        "name": draw(_texts),
        "leadCount": draw(_counts),
        "columns": [
            {
                "id": draw(_ids),
                "name": draw(_texts),
                "kind": "enrichment",
                "slug": draw(st.none() | _ids),
                "autoTrigger": draw(st.booleans()),
                "credits": {"lifetimeUsed": draw(_counts)},
                "cells": {"running": draw(_counts), "errored": draw(_counts)},
                "qualification": {"pass": 1, "fail": 2, "unsure": 0, "total": 3},
            }
            for _ in range(draw(st.integers(0, 2)))
        ],
        "credits": {"lifetimeUsed": draw(_counts)},
        "cells": {"running": draw(_counts), "errored": draw(_counts)},
        "url": f"https://origami.chat/workspace/ws?table={table_id}",
        "createdAt": draw(_times),
        "updatedAt": draw(_times),
        "stats": {
            "creditsPerLead": 1.5,
            "qualification": {"rate": 0.5, "qualifiedLeads": draw(_counts)},
            "funnel": {"totalSourcedLeads": draw(_counts), "dedupRate": None},
            "running": {"runningLeads": 0, "oldestActiveRunStartedAt": None},
            "leadSources": [{"id": "s1", "name": draw(_texts), "totalLeads": draw(_counts)}],
            "hasUnknownTotalWithMore": False,
        },
    }


@st.composite
def valid_runs(draw: st.DrawFn) -> dict[str, Any]:
    status = draw(_statuses)
    tables = draw(st.lists(_table(), max_size=2))
    questions = [
        {
            "type": draw(st.sampled_from(["single-choice", "confirm"])),
            "question": draw(_texts),
            "suggestedAnswers": draw(st.lists(_texts, max_size=4)),
            "freeformOption": "Or something else",
        }
        for _ in range(draw(st.integers(0, 2)))
    ]
    return {
        "object": "run",
        "id": draw(st.sampled_from(["v2_run-Zk3q9TfA1bC7", "run 1", "a:b"])),
        "agentId": "6f1c1f3e-2b7a-4f59-9d2e-0c7f5a1b9e21",
        "status": status,
        "prompt": draw(_texts),
        "model": "origami-max",
        "steps": {"completed": draw(_counts), "max": draw(st.integers(1, 500))},
        "startedAt": draw(_times),
        "completedAt": draw(st.none() | _times),
        "workspaceId": None,
        "request": {"prompt": draw(_texts), "model": None, "focusTableIds": []},
        "response": None
        if status == "running"
        else {
            "text": draw(st.none() | st.text(max_size=400)),
            "actions": [
                {"type": "leads_added", "tableId": t["id"], "leadCount": t["leadCount"]}
                for t in tables
            ],
            "tables": tables,
            "transcript": None,
            "transcriptTruncated": False,
        },
        "todo": {
            "pendingQuestions": questions,
            "nextActions": [
                {"label": draw(_texts), "type": draw(st.none() | st.just("find_more_leads"))}
                for _ in range(draw(st.integers(0, 3)))
            ],
        },
    }


# -- one field broken -------------------------------------------------------------------------

_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def _paths(node: Any, path: Path = ()) -> Iterator[Path]:
    if path:
        yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*path, index))


def _get(node: Any, path: Path) -> Any:
    for part in path:
        node = node[part]
    return node


@st.composite
def broken_runs(draw: st.DrawFn) -> tuple[dict[str, Any], Path]:
    """A valid run with one field, anywhere in it, of another JSON type or removed."""
    data = draw(valid_runs())
    path = draw(st.sampled_from(list(_paths(data))))
    parent = _get(data, path[:-1])
    old = parent[path[-1]]
    if isinstance(parent, dict) and draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(_json_values.filter(lambda new: _kind(new) != _kind(old)))
    return data, path


# -- rendering as the delivery does --------------------------------------------------------------


def _rendered(run: Run) -> list[Message]:
    elapsed = 42.0
    messages = build_result(run, elapsed_s=elapsed)
    questions = run.todo.pending_questions
    if questions:
        answers = {0: Answer("U0TESTER", "Yes")}
        messages.append(build_questions(questions, run_id=run.id, answers={}))
        messages.append(build_questions(questions, run_id=run.id, answers=answers))
        messages.append(build_questions_closed(questions, answers=answers))
    added = [a.lead_count for a in run.response.actions] if run.response else []
    messages.append(
        build_progress(
            run_id=run.id,
            steps_completed=run.steps.completed,
            elapsed_s=elapsed,
            leads_found=sum(n for n in added if n) or None,
            queued=1,
        )
    )
    messages.append(
        build_progress_final(
            status=run.status,
            elapsed_s=elapsed,
            steps_completed=run.steps.completed,
            steps_max=run.steps.max,
        )
    )
    for table in run.response.tables if run.response else []:
        messages.append(build_shared_table(table, shared_by="U0TESTER", thread_link=None))
    return messages


def assert_slack_takes(messages: list[Message]) -> None:
    for message in messages:
        assert message_errors(message.blocks, message.text, max_text=MAX_UPDATE_TEXT) == []
        assert message.text.strip()


@PROPERTY_SETTINGS
@given(valid_runs())
def test_any_valid_run_parses_and_renders(data: dict[str, Any]) -> None:
    run = Run.model_validate(data)
    assert run.status_raw == data["status"]
    assert_slack_takes(_rendered(run))


@PROPERTY_SETTINGS
@given(broken_runs())
def test_a_run_broken_in_any_one_field_parses_and_renders(
    case: tuple[dict[str, Any], Path],
) -> None:
    data, path = case
    if path == ("id",):  # the one field of a run without which nothing can be delivered
        with pytest.raises(ValidationError):
            Run.model_validate(data)
        return
    run = Run.model_validate(data)
    assert run.id == data["id"]
    if path[0] != "status":
        assert run.status_raw == data["status"]
    assert_slack_takes(_rendered(run))
    assert result_overflow(run) is None  # short texts are shown whole


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def _model_warnings() -> Iterator[_Records]:
    """What the models log, with the once-per-process memory forgotten first."""
    logger = logging.getLogger("bot.origami.tolerant")
    handler = _Records()
    tolerant._warned.clear()
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        tolerant._warned.clear()


@settings(max_examples=80, deadline=None, database=None)
@given(broken_runs())
def test_a_broken_field_is_logged_once_at_warning(case: tuple[dict[str, Any], Path]) -> None:
    data, path = case
    if path == ("id",):
        return
    with _model_warnings() as warnings:
        Run.model_validate(data)
        first = list(warnings.records)
        Run.model_validate(data)
        again = warnings.records[len(first) :]
    assert len(first) <= 1  # one field broken, at most one line
    assert all(r.levelno == logging.WARNING for r in first)
    assert again == []  # once per process, not once per poll


# -- through the client ------------------------------------------------------------------------


def _client(body: bytes, content_type: str = "application/json") -> OrigamiClient:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": content_type})

    http = build_http_client(
        "https://origami.test/api/v2", "og_live_test", transport=httpx.MockTransport(answer)
    )
    return OrigamiClient(http, retry=RetryPolicy(attempts=1))


@settings(max_examples=40, deadline=None, database=None)
@given(case=broken_runs())
async def test_get_run_returns_a_broken_run_instead_of_raising(
    case: tuple[dict[str, Any], Path],
) -> None:
    data, path = case
    client = _client(json.dumps(data).encode())
    try:
        if path == ("id",):
            # Without its id a run cannot be delivered: the server's fault, as any other
            # malformed success body (one of the client's documented errors).
            with pytest.raises(errors.ServerError):
                await client.get_run("agent", "run")
        else:
            poll = await client.get_run("agent", "run")
            assert poll.run.id == data["id"]
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    "body", [b"", b"not json", b"[1, 2]", b'"run"', b"null", b"12", b'{"id": ']
)
async def test_get_run_still_refuses_bodies_that_are_not_a_json_object(body: bytes) -> None:
    client = _client(body)
    try:
        with pytest.raises(errors.ServerError):
            await client.get_run("agent", "run")
    finally:
        await client.aclose()
