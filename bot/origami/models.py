"""Pydantic models of the Origami v2 objects the bot reads.

Parsing is tolerant on purpose, field by field: the v2 API is beta and its docs disagree
with each other, and a run is polled every 15 s for up to seven days, so one field Origami
gets wrong must cost that field, not the run. Therefore:

- unknown fields are ignored, and a status string we have never seen parses as
  ``RunStatus.UNKNOWN`` (treated as terminal) instead of failing the poll loop;
- a field whose value breaks the schema (a number where text belongs, text in a count, an
  object that is not one) is read as absent: it gets its default, and the first time a
  process meets it in a given model it logs a warning naming the field's path (never the
  value: it may be long, and it is the agent's or a customer's text);
- a bad item of a list (a string among the next actions, a table without an id) is dropped
  and the rest of the list kept, logged the same way;
- a ``null`` where the schema has none is read as absent without a warning: the docs
  disagree about which fields are nullable (``todo`` is ``null`` on some running runs) and a
  null carries nothing to lose.

Only the fields without which nothing can be done are required, so that only they can fail
a whole parse: a run's ``id`` (the delivery of its result, every button on it and every
follow-up are keyed by it; a made-up one would mix two runs up), a created agent's ``agent``
and its ``id`` (the thread is bound to it), ``run``, and a handoff's ``url``. A run's
``status`` is not among them: missing or not a string, it parses as ``UNKNOWN``, which is
terminal, so the result is delivered (with a neutral note) instead of polled for a week.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    Field,
)

from bot.origami.next_actions import NextAction
from bot.origami.tolerant import (
    COUNT_MAX,
    Count,
    Items,
    OrigamiModel,
    Timestamp,
    json_type,
    warn_once,
)

log = logging.getLogger(__name__)

# Kept of a status string the API sent, for logs and the neutral "unknown status" note.
_STATUS_RAW_MAX = 100


class RunStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    NEEDS_INPUT = "needs_input"
    INCOMPLETE = "incomplete"
    STEP_CAP_HIT = "step_cap_hit"
    CANCELLED = "cancelled"
    ERRORED = "errored"
    TIMED_OUT = "timed_out"
    # Not an API value: any status string this build does not know.
    UNKNOWN = "unknown"

    @property
    def is_terminal(self) -> bool:
        return self is not RunStatus.RUNNING

    @property
    def can_continue(self) -> bool:
        """Stopped early but recoverable with a follow-up run on the same agent."""
        return self in (RunStatus.INCOMPLETE, RunStatus.STEP_CAP_HIT, RunStatus.TIMED_OUT)


def _to_status(value: Any) -> RunStatus:
    if not isinstance(value, str):
        return RunStatus.UNKNOWN
    try:
        return RunStatus(value)
    except ValueError:
        return RunStatus.UNKNOWN


# A status string this build does not know, or no string at all, parses as UNKNOWN.
TolerantStatus = Annotated[RunStatus, BeforeValidator(_to_status)]


class RunSteps(OrigamiModel):
    completed: Count = 0
    max: Annotated[int, Field(ge=1, le=COUNT_MAX)] = 1


class RunRequest(OrigamiModel):
    prompt: str = ""
    model: str | None = None
    focus_table_ids: Items[str] = Field(default_factory=list)


class RunAction(OrigamiModel):
    type: str = ""
    table_id: str | None = None
    table_name: str | None = None
    column_id: str | None = None
    column_name: str | None = None
    count: Count | None = None
    lead_count: Count | None = None
    deleted_at: Timestamp | None = None


class CellsLiveness(OrigamiModel):
    running: Count = 0
    errored: Count = 0


class CreditsLifetime(OrigamiModel):
    lifetime_used: float = 0


class ColumnStats(OrigamiModel):
    avg_credits_per_run: float | None = None
    call_rate: float | None = None
    total_runs: Count | None = None


class ColumnQualification(OrigamiModel):
    pass_: Count = Field(0, alias="pass")
    fail: Count = 0
    unsure: Count = 0
    total: Count = 0


class TableColumn(OrigamiModel):
    id: str = ""
    name: str = ""
    type: str | None = None
    kind: str | None = None
    slug: str | None = None
    auto_trigger: bool = False
    credits: CreditsLifetime = Field(default_factory=CreditsLifetime)
    cells: CellsLiveness = Field(default_factory=CellsLiveness)
    stats: ColumnStats | None = None
    qualification: ColumnQualification | None = None


class TableQualificationStats(OrigamiModel):
    rate: float | None = None
    fetch_rate: float | None = None
    qualified_leads: Count | None = None
    effective_leads_per_qualified: float | None = None
    estimated_qualified_leads: Count | None = None


class TableFunnelStats(OrigamiModel):
    total_sourced_leads: Count | None = None
    post_static_leads: Count | None = None
    deduped_leads: Count | None = None
    dedup_rate: float | None = None
    excluded_leads: Count | None = None
    excluded_rate: float | None = None


class TableRunningStats(OrigamiModel):
    running_leads: Count = 0
    oldest_active_run_started_at: Timestamp | None = None


class TableLeadSourceStats(OrigamiModel):
    id: str | None = None
    name: str = ""
    avg_credits_per_lead: float | None = None
    total_credits: float | None = None
    total_leads: Count | None = None
    source: str | None = None


class TableStats(OrigamiModel):
    credits_per_lead: float | None = None
    credits_per_qualified_lead: float | None = None
    find_more_estimated_credits: float | None = None
    qualification: TableQualificationStats | None = None
    funnel: TableFunnelStats | None = None
    running: TableRunningStats | None = None
    lead_sources: Items[TableLeadSourceStats] = Field(default_factory=list)
    has_unknown_total_with_more: bool = False


class Table(OrigamiModel):
    # Not required: a table without a usable id still has a name, leads and a link to
    # show; it only gets no Share or Export button.
    id: str = ""
    name: str = "Untitled table"
    workspace_id: str | None = None
    lead_count: Count = 0
    columns: Items[TableColumn] = Field(default_factory=list)
    credits: CreditsLifetime = Field(default_factory=CreditsLifetime)
    cells: CellsLiveness = Field(default_factory=CellsLiveness)
    url: str | None = None
    created_at: Timestamp | None = None
    updated_at: Timestamp | None = None
    stats: TableStats | None = None

    @property
    def qualified_leads(self) -> int | None:
        if self.stats is None or self.stats.qualification is None:
            return None
        return self.stats.qualification.qualified_leads

    @property
    def is_enriching(self) -> bool:
        return self.cells.running > 0


class TranscriptToolCall(OrigamiModel):
    id: str | None = None
    name: str | None = None
    input: Any = None


class TranscriptMessage(OrigamiModel):
    role: str | None = None
    content: str | None = None
    tool_calls: Items[TranscriptToolCall] = Field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None
    result: str | None = None
    truncated: bool = False


class RunResponse(OrigamiModel):
    text: str | None = None
    actions: Items[RunAction] = Field(default_factory=list)
    tables: Items[Table] = Field(default_factory=list)
    transcript: Items[TranscriptMessage] | None = None
    transcript_truncated: bool = False


class PendingQuestion(OrigamiModel):
    type: str = "single-choice"
    # Not required: a question whose text is unreadable keeps its place (answers are
    # matched to questions by position) and its suggested answers; it shows as "…".
    question: str = ""
    suggested_answers: Items[str] = Field(default_factory=list)
    freeform_option: str = "Or something else"


class RunTodo(OrigamiModel):
    pending_questions: Items[PendingQuestion] = Field(default_factory=list)
    next_actions: Items[NextAction] = Field(default_factory=list)


class Run(OrigamiModel):
    # Required (see the module's docstring): without it nothing can be delivered.
    id: str
    # The thread is bound to its agent when the agent is created: a run's own copy is
    # not needed for anything.
    agent_id: str = ""
    status: TolerantStatus = RunStatus.UNKNOWN
    # The string the API sent (cut short), kept so an UNKNOWN status can still be logged
    # and shown; empty when there was no string.
    status_raw: str = ""
    prompt: str = ""
    model: str | None = None
    steps: RunSteps = Field(default_factory=RunSteps)
    started_at: Timestamp | None = None
    completed_at: Timestamp | None = None
    workspace_id: str | None = None
    request: RunRequest | None = None
    response: RunResponse | None = None
    todo: RunTodo = Field(default_factory=RunTodo)

    @classmethod
    def _prepared(cls, data: Any) -> Any:
        if isinstance(data, dict) and "statusRaw" not in data and "status_raw" not in data:
            raw = data.get("status")
            if not isinstance(raw, str):
                warn_once("Run", "status", f"no status string (got {json_type(raw)})")
                raw = ""
            data = {**data, "statusRaw": raw[:_STATUS_RAW_MAX]}
        return data


class AgentSummary(OrigamiModel):
    # Required: the thread is bound to this agent, and every follow-up goes to it.
    id: str
    name: str = ""
    workspace_id: str | None = None
    created_at: Timestamp | None = None


class WorkspaceRef(OrigamiModel):
    id: str
    name: str = ""
    created_at: Timestamp | None = None
    created_by_api: bool | None = None


class CreatedAgent(OrigamiModel):
    """The 202 body of ``POST /agents``."""

    agent: AgentSummary
    run: Run
    workspace: WorkspaceRef | None = None


class Account(OrigamiModel):
    """``GET /account``, flattened to what ``python -m bot doctor`` shows."""

    organization_id: str | None = None  # the organisation's budget is keyed by it
    organization_name: str | None = None
    plan_id: str = ""
    plan_name: str = ""
    can_use_api: bool | None = None
    concurrent_agents: Count | None = None  # None: unlimited (the API's null), or not said

    @classmethod
    def _prepared(cls, data: Any) -> Any:
        if not isinstance(data, dict) or not {"organization", "plan", "capabilities"} & set(data):
            return data
        org, plan, caps = (
            v if isinstance(v := data.get(k), dict) else {}
            for k in ("organization", "plan", "capabilities")
        )
        return {
            "organizationId": org.get("id"),
            "organizationName": org.get("name"),
            "planId": plan.get("id"),
            "planName": plan.get("name"),
            "canUseApi": caps.get("canUseApi"),
            "concurrentAgents": caps.get("concurrentAgents"),
        }


class Credits(OrigamiModel):
    """``GET /account/credits``; a balance that cannot be read is ``None``."""

    balance: float | None = None


class ActiveSession(OrigamiModel):
    agent_id: str | None = None
    name: str | None = None
    started_at: str | None = None


class CurrentRun(OrigamiModel):
    id: str | None = None
    started_at: str | None = None


class Handoff(OrigamiModel):
    kind: str | None = None
    url: str
    label: str | None = None


class ValidationIssue(OrigamiModel):
    path: str | list[str | int] | None = None
    message: str = ""


class ErrorBody(OrigamiModel):
    """The error envelope plus the top-level extras some codes carry."""

    error: str = ""
    code: str = ""
    details: dict[str, Any] | None = None
    handoff: Handoff | None = None
    message: str | None = None
    hint: str | None = None
    reason: str | None = None
    credits_required: float | None = None
    credits_available: float | None = None
    top_up_url: str | None = None
    blocked_by_budgets: Items[str] = Field(default_factory=list)
    current_run: CurrentRun | None = None
    limit: int | None = None
    active_sessions: Items[ActiveSession] = Field(default_factory=list)
    can_upgrade: bool | None = None

    @property
    def issues(self) -> list[ValidationIssue]:
        raw = (self.details or {}).get("issues")
        if not isinstance(raw, list):
            return []
        out = []
        for item in raw:
            if isinstance(item, dict):
                out.append(ValidationIssue.model_validate(item))
        return out
