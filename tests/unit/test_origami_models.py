"""Parsing Origami v2 JSON into the client's models: tolerant where the beta API may drift."""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from bot.origami import tolerant
from bot.origami.models import CreatedAgent, ErrorBody, Run, RunStatus, Table
from tests.fakes.origami import confirm, make_table, next_action, single_choice

AGENT_ID = "6f1c1f3e-2b7a-4f59-9d2e-0c7f5a1b9e21"
WORKSPACE_ID = "9b7c3a10-5d2e-4c8f-a1b2-3c4d5e6f7a8b"
RUN_ID = "v2_run-Zk3q9TfA1bC7"


def run_json(status: str = "completed", **overrides: Any) -> dict[str, Any]:
    """A Run as the API sends it (latest spec: with ``object`` tags)."""
    table = make_table("Fintech founders, Berlin", 25, qualified=18, workspace_id=WORKSPACE_ID)
    terminal = status != "running"
    data: dict[str, Any] = {
        "object": "run",
        "id": RUN_ID,
        "agentId": AGENT_ID,
        "status": status,
        "prompt": "Find seed-stage fintech founders in Berlin",
        "model": "origami-max",
        "steps": {"completed": 7, "max": 50},
        "startedAt": "2026-07-20T10:00:00.000Z",
        "completedAt": "2026-07-20T10:03:12.345Z" if terminal else None,
        "workspaceId": WORKSPACE_ID,
        "request": {
            "prompt": "Find seed-stage fintech founders in Berlin",
            "model": "origami-max",
            "focusTableIds": [],
        },
        "response": (
            {
                "text": None if status in ("errored", "timed_out") else "Found 25 founders.",
                "actions": [
                    {"type": "table_created", "tableId": table["id"], "tableName": table["name"]},
                    {"type": "leads_added", "tableId": table["id"], "leadCount": 25},
                ],
                "tables": [table],
                "transcript": None,
                "transcriptTruncated": False,
            }
            if terminal
            else None
        ),
        "todo": {"pendingQuestions": [], "nextActions": []},
    }
    data.update(overrides)
    return data


STATUSES: list[tuple[str, RunStatus, bool, bool]] = [
    # raw, parsed, is_terminal, can_continue
    ("running", RunStatus.RUNNING, False, False),
    ("completed", RunStatus.COMPLETED, True, False),
    ("needs_input", RunStatus.NEEDS_INPUT, True, False),
    ("incomplete", RunStatus.INCOMPLETE, True, True),
    ("step_cap_hit", RunStatus.STEP_CAP_HIT, True, True),
    ("cancelled", RunStatus.CANCELLED, True, False),
    ("errored", RunStatus.ERRORED, True, False),
    ("timed_out", RunStatus.TIMED_OUT, True, True),
    ("superseded", RunStatus.UNKNOWN, True, False),
    ("", RunStatus.UNKNOWN, True, False),
]


@pytest.mark.parametrize(
    ("raw", "status", "terminal", "can_continue"), STATUSES, ids=[s[0] or "empty" for s in STATUSES]
)
def test_every_status_parses(
    raw: str, status: RunStatus, terminal: bool, can_continue: bool
) -> None:
    run = Run.model_validate(run_json(raw))
    assert run.status is status
    assert run.status_raw == raw
    assert run.status.is_terminal is terminal
    assert run.status.can_continue is can_continue


def test_a_completed_run_parses_in_full() -> None:
    data = run_json(
        "completed",
        todo={
            "pendingQuestions": [],
            "nextActions": [
                next_action("Find 25 more", "find_more_leads"),
                next_action("Export as CSV", "export_csv", "fintech-founders-berlin"),
                next_action("Draft intro emails"),
            ],
        },
    )
    table_json = data["response"]["tables"][0]
    run = Run.model_validate(data)

    assert (run.id, run.agent_id, run.workspace_id) == (RUN_ID, AGENT_ID, WORKSPACE_ID)
    assert (run.steps.completed, run.steps.max) == (7, 50)
    assert (run.started_at, run.completed_at) == (
        "2026-07-20T10:00:00.000Z",
        "2026-07-20T10:03:12.345Z",
    )
    assert run.response is not None
    assert run.response.text == "Found 25 founders."
    assert run.response.transcript is None
    assert run.response.transcript_truncated is False
    assert [(a.type, a.table_name, a.lead_count) for a in run.response.actions] == [
        ("table_created", "Fintech founders, Berlin", None),
        ("leads_added", None, 25),
    ]
    [table] = run.response.tables
    assert table.id == table_json["id"]
    assert table.url == f"https://origami.chat/workspace/{WORKSPACE_ID}?table={table_json['id']}"
    assert table.lead_count == 25
    assert table.credits.lifetime_used == 75
    assert (table.cells.running, table.cells.errored) == (0, 0)
    assert table.is_enriching is False
    assert table.qualified_leads == 18
    assert table.stats is not None and table.stats.funnel is not None
    assert table.stats.funnel.total_sourced_leads == 30
    assert [c.slug for c in table.columns] == [
        "name",
        "title",
        "company",
        "linkedin_url",
        "work_email",
        "fit_score",
    ]
    score = table.columns[-1]
    assert score.qualification is not None
    assert (score.qualification.pass_, score.qualification.total) == (18, 25)
    assert score.stats is not None and score.stats.total_runs == 25
    assert [(n.label, n.type, n.table_slug) for n in run.todo.next_actions] == [
        ("Find 25 more", "find_more_leads", None),
        ("Export as CSV", "export_csv", "fintech-founders-berlin"),
        ("Draft intro emails", None, None),
    ]


def test_needs_input_questions_parse() -> None:
    data = run_json(
        "needs_input",
        todo={
            "pendingQuestions": [
                single_choice("Which region?", ["DACH", "Nordics"]),
                confirm("Spend about 40 credits?"),
            ],
            "nextActions": [],
        },
    )
    run = Run.model_validate(data)
    first, second = run.todo.pending_questions
    assert (first.type, first.question, first.suggested_answers, first.freeform_option) == (
        "single-choice",
        "Which region?",
        ["DACH", "Nordics"],
        "Or something else",
    )
    assert (second.type, second.suggested_answers) == ("confirm", ["Confirm"])


def test_a_running_run_has_null_response_and_null_todo_is_empty() -> None:
    run = Run.model_validate(run_json("running", todo=None))
    assert run.response is None
    assert run.completed_at is None
    assert run.todo.pending_questions == []
    assert run.todo.next_actions == []
    missing = run_json("running")
    del missing["todo"]
    assert Run.model_validate(missing).todo.pending_questions == []


def test_failed_runs_have_null_text() -> None:
    for status in ("errored", "timed_out"):
        run = Run.model_validate(run_json(status))
        assert run.response is not None
        assert run.response.text is None


def test_unknown_fields_are_ignored_at_every_level() -> None:
    data = run_json("completed", futureField={"x": 1}, cost={"credits": 12})
    data["response"]["confidence"] = 0.9
    data["response"]["actions"][0]["undoUrl"] = "https://origami.chat/undo"
    table = data["response"]["tables"][0]
    table["owner"] = "someone"
    table["columns"][0]["format"] = "text"
    table["stats"]["newMetric"] = 3
    table["stats"]["funnel"]["newStage"] = 4
    data["todo"]["pendingQuestions"] = [{**single_choice("Q?", ["a"]), "id": "q1"}]
    data["todo"]["nextActions"] = [{**next_action("Go"), "priority": 1}]
    data["steps"]["eta"] = 30
    data["request"]["attachments"] = []

    run = Run.model_validate(data)
    assert run.status is RunStatus.COMPLETED
    assert "futureField" not in run.model_dump(by_alias=True)
    assert run.response is not None
    assert run.response.tables[0].lead_count == 25
    assert run.todo.pending_questions[0].question == "Q?"
    assert run.todo.next_actions[0].label == "Go"


def test_the_june_shape_without_object_tags_parses() -> None:
    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != "object"}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    run = Run.model_validate(strip(run_json("completed")))
    assert run.response is not None
    assert run.response.tables[0].qualified_leads == 18


def test_table_helpers() -> None:
    enriching = Table.model_validate(make_table("T", 10, running_cells=3, qualified=4))
    assert enriching.is_enriching is True
    assert enriching.qualified_leads == 4
    no_relevance = Table.model_validate(make_table("T", 10))
    assert no_relevance.stats is not None
    assert no_relevance.stats.qualification is None
    assert no_relevance.qualified_leads is None
    no_stats = copy.deepcopy(make_table("T", 10, qualified=4))
    del no_stats["stats"]
    assert Table.model_validate(no_stats).qualified_leads is None
    assert Table.model_validate({"id": "t1"}).name == "Untitled table"


def test_models_are_frozen() -> None:
    run = Run.model_validate(run_json("running"))
    with pytest.raises(ValidationError):
        run.status = RunStatus.COMPLETED  # type: ignore[misc]


# -- agents ----------------------------------------------------------------------------------


def test_created_agent_parses() -> None:
    created = CreatedAgent.model_validate(
        {
            "agent": {
                "object": "agent",
                "id": AGENT_ID,
                "name": "n",
                "workspaceId": WORKSPACE_ID,
                "createdAt": "2026-07-20T10:00:00.000Z",
            },
            "run": run_json("running"),
            "workspace": {
                "object": "workspace",
                "id": WORKSPACE_ID,
                "name": "n",
                "createdAt": "2026-07-20T10:00:00.000Z",
                "createdByApi": True,
            },
        }
    )
    assert created.agent.workspace_id == WORKSPACE_ID
    assert created.run.status is RunStatus.RUNNING
    assert created.workspace is not None and created.workspace.created_by_api is True


# -- error bodies ----------------------------------------------------------------------------


def test_error_body_issues_and_extras() -> None:
    body = ErrorBody.model_validate(
        {
            "error": "Invalid request body",
            "code": "VALIDATION_ERROR",
            "details": {
                "issues": [
                    {"path": "prompt", "message": "Required"},
                    {"path": ["attachments", 0, "documentId"], "message": "Invalid uuid"},
                    "junk",
                ]
            },
            "handoff": {"kind": "billing", "url": "https://origami.chat/b", "label": "Fix"},
            "futureField": 1,
        }
    )
    assert [(i.path, i.message) for i in body.issues] == [
        ("prompt", "Required"),
        (["attachments", 0, "documentId"], "Invalid uuid"),
    ]
    assert body.handoff is not None and body.handoff.url == "https://origami.chat/b"
    assert ErrorBody.model_validate({"error": "x", "code": "Y"}).issues == []
    assert ErrorBody.model_validate({"details": {"issues": "nope"}}).issues == []


def test_error_body_top_level_fields() -> None:
    body = ErrorBody.model_validate(
        {
            "error": "Too many agents",
            "code": "CONCURRENT_LIMIT_EXCEEDED",
            "limit": 3,
            "activeSessions": [
                {"agentId": AGENT_ID, "name": "A", "startedAt": "2026-07-20T10:00:00Z"}
            ],
            "canUpgrade": True,
            "currentRun": {"id": RUN_ID, "startedAt": "2026-07-20T10:00:00Z"},
            "creditsRequired": 5,
            "creditsAvailable": 2,
            "topUpUrl": "https://origami.chat/settings/billing?source=api",
            "blockedByBudgets": ["Q3"],
            "reason": "payment_failed",
        }
    )
    assert body.limit == 3
    assert [s.agent_id for s in body.active_sessions] == [AGENT_ID]
    assert body.can_upgrade is True
    assert body.current_run is not None and body.current_run.id == RUN_ID
    assert (body.credits_required, body.credits_available) == (5, 2)
    assert body.top_up_url == "https://origami.chat/settings/billing?source=api"
    assert body.blocked_by_budgets == ["Q3"]
    assert body.reason == "payment_failed"


# -- one broken field costs that field, not the run -------------------------------------------


@pytest.fixture
def warnings(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Warnings of the models' logger, with the once-per-process memory forgotten."""
    tolerant._warned.clear()
    caplog.set_level(logging.WARNING, logger="bot.origami.tolerant")
    yield caplog
    tolerant._warned.clear()


def _fields_warned(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [vars(r)["field"] for r in caplog.records if r.name == "bot.origami.tolerant"]


def test_the_issue_examples_cost_only_their_field(warnings: pytest.LogCaptureFixture) -> None:
    data = run_json(
        "needs_input",
        todo={
            "pendingQuestions": [
                {"question": 5, "freeformOption": None, "suggestedAnswers": ["A", 7, "B"]},
                single_choice("Which region?", ["DACH"]),
            ],
            "nextActions": ["Find more", next_action("Export", "export_csv"), {"label": 3}],
        },
        steps=None,
    )
    data["response"]["text"] = 12345
    data["response"]["tables"][0]["leadCount"] = "many"
    run = Run.model_validate(data)

    assert run.status is RunStatus.NEEDS_INPUT
    assert run.steps.max == 1  # null is read as absent
    assert run.response is not None
    assert run.response.text is None
    [table] = run.response.tables
    assert table.lead_count == 0
    assert table.name == "Fintech founders, Berlin"  # the rest of the table is kept
    assert table.qualified_leads == 18
    first, second = run.todo.pending_questions
    assert (first.question, first.suggested_answers, first.freeform_option) == (
        "",
        ["A", "B"],
        "Or something else",
    )
    assert second.question == "Which region?"
    # The string is dropped; the item without a usable label keeps its place, blank.
    assert [a.label for a in run.todo.next_actions] == ["Export", ""]
    assert sorted(_fields_warned(warnings)) == [
        "NextAction.label",
        "PendingQuestion.question",
        "PendingQuestion.suggestedAnswers",
        "RunResponse.text",
        "RunTodo.nextActions",
        "Table.leadCount",
    ]


def test_a_broken_field_is_logged_once_with_its_path_and_never_its_value(
    warnings: pytest.LogCaptureFixture,
) -> None:
    secret = "Confidential pipeline notes " * 50
    for _ in range(3):
        data = run_json("completed")
        data["response"]["tables"][0]["leadCount"] = secret
        data["response"]["tables"][0]["columns"] = {"text": secret}
        Run.model_validate(data)
    records = [r for r in warnings.records if r.name == "bot.origami.tolerant"]
    assert [(r.levelno, vars(r)["field"]) for r in records] == [
        (logging.WARNING, "Table.leadCount"),
        (logging.WARNING, "Table.columns"),
    ]
    assert vars(records[0])["problem"] == "int_parsing, got string"
    assert vars(records[1])["problem"] == "list_type, got object"
    shown = warnings.text + " ".join(str(r.__dict__) for r in records)
    assert "Confidential" not in shown


def test_wrong_shapes_of_whole_objects_become_their_defaults(
    warnings: pytest.LogCaptureFixture,
) -> None:
    data = run_json(
        "completed",
        steps="7 of 50",
        request=["prompt"],
        todo="none",
        startedAt="yesterday",
        completedAt="2026-07-20T10:03:12",  # no offset: not a date-time of the schema
    )
    data["response"]["actions"] = {"type": "table_created"}
    run = Run.model_validate(data)
    assert (run.steps.completed, run.steps.max) == (0, 1)
    assert run.request is None
    assert run.todo.pending_questions == [] and run.todo.next_actions == []
    assert (run.started_at, run.completed_at) == (None, None)
    assert run.response is not None and run.response.actions == []
    assert run.response.tables[0].lead_count == 25
    assert Run.model_validate(run_json("completed", response="done")).response is None


def test_counts_out_of_range_read_as_absent() -> None:
    data = run_json("running", steps={"completed": -1, "max": 10**400})
    run = Run.model_validate(data)
    assert (run.steps.completed, run.steps.max) == (0, 1)
    table = Table.model_validate({"id": "t1", "leadCount": 10**20, "cells": {"running": -3}})
    assert (table.lead_count, table.cells.running) == (0, 0)


def test_bad_items_of_lists_are_dropped_and_the_rest_kept() -> None:
    data = run_json("completed")
    good = data["response"]["tables"][0]
    data["response"]["tables"] = [None, "table", good, 42, {**good, "id": 7}]
    data["response"]["actions"] = [{"type": "leads_added", "leadCount": 3}, [], "x"]
    data["request"]["focusTableIds"] = ["t1", None, 5, "t2"]
    run = Run.model_validate(data)
    assert run.response is not None
    # A table whose id is unreadable is still shown (with no buttons): its id reads as "".
    assert [t.id for t in run.response.tables] == [good["id"], ""]
    assert [(a.type, a.lead_count) for a in run.response.actions] == [("leads_added", 3)]
    assert run.request is not None and run.request.focus_table_ids == ["t1", "t2"]


@pytest.mark.parametrize("status", [None, 5, {"x": 1}, ["completed"], True])
def test_a_status_that_is_not_a_string_is_unknown(status: Any) -> None:
    data = {**run_json("completed"), "status": status}
    run = Run.model_validate(data)
    assert run.status is RunStatus.UNKNOWN
    assert run.status.is_terminal
    assert run.status_raw == ""
    missing = run_json("completed")
    del missing["status"]
    assert Run.model_validate(missing).status is RunStatus.UNKNOWN


def test_an_unknown_status_string_is_kept_short() -> None:
    run = Run.model_validate(run_json("x" * 5000))
    assert run.status is RunStatus.UNKNOWN
    assert run.status_raw == "x" * 100


@pytest.mark.parametrize("bad_id", [None, 5, {"id": "x"}, ["v2_run-1"]])
def test_a_run_without_a_usable_id_still_fails(bad_id: Any) -> None:
    # The one field of a run without which nothing can be delivered (see models.py).
    with pytest.raises(ValidationError):
        Run.model_validate(run_json("completed", id=bad_id))
    missing = run_json("completed")
    del missing["id"]
    with pytest.raises(ValidationError):
        Run.model_validate(missing)


def test_a_run_without_an_agent_id_parses() -> None:
    data = run_json("completed", agentId=None)
    assert Run.model_validate(data).agent_id == ""
    del data["agentId"]
    assert Run.model_validate(data).agent_id == ""


def test_created_agent_keeps_what_it_needs() -> None:
    body = {"agent": {"id": AGENT_ID, "name": 5}, "run": run_json("running"), "workspace": 3}
    created = CreatedAgent.model_validate(body)
    assert (created.agent.id, created.agent.name, created.workspace) == (AGENT_ID, "", None)
    with pytest.raises(ValidationError):
        CreatedAgent.model_validate({**body, "agent": {"name": "n"}})


def test_error_bodies_keep_their_code_whatever_else_is_broken() -> None:
    body = ErrorBody.model_validate(
        {
            "error": "Too many agents",
            "code": "CONCURRENT_LIMIT_EXCEEDED",
            "limit": "three",
            "activeSessions": [{"agentId": AGENT_ID}, "junk"],
            "blockedByBudgets": None,
            "handoff": {"kind": "billing"},
            "currentRun": [],
        }
    )
    assert (body.code, body.limit, body.handoff, body.current_run) == (
        "CONCURRENT_LIMIT_EXCEEDED",
        None,
        None,
        None,
    )
    assert [s.agent_id for s in body.active_sessions] == [AGENT_ID]
    assert body.blocked_by_budgets == []


def test_a_broken_field_given_by_its_python_name_reads_as_absent() -> None:
    # Salvage must find the field however the input names it (the models accept both).
    run = Run.model_validate({"id": RUN_ID, "status": "running", "started_at": "yesterday"})
    assert run.started_at is None
    assert run.status is RunStatus.RUNNING


def test_several_broken_fields_at_several_levels_cost_only_themselves() -> None:
    data = run_json()
    data["steps"] = {"completed": "three", "max": 50}
    data["model"] = 7
    data["response"]["tables"][0]["rowCount"] = -1
    run = Run.model_validate(data)
    assert run.steps.completed == 0 and run.steps.max == 50
    assert run.model is None
    assert run.response is not None and run.response.tables[0].id
    assert run.response.text == run_json()["response"]["text"]
