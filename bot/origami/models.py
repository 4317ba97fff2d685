"""Pydantic models of the Origami v2 objects the bot reads.

Parsing is tolerant on purpose: the v2 API is beta and its docs disagree with each other,
so unknown fields are ignored, optional-looking fields get defaults, and a status string we
have never seen parses as ``RunStatus.UNKNOWN`` (treated as terminal) instead of failing the
poll loop.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel


class OrigamiModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
        frozen=True,
    )


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
    try:
        return RunStatus(value)
    except ValueError:
        return RunStatus.UNKNOWN


# A status string this build does not know parses as UNKNOWN instead of failing.
TolerantStatus = Annotated[RunStatus, BeforeValidator(_to_status)]


class RunSteps(OrigamiModel):
    completed: int = 0
    max: int = 1


class RunRequest(OrigamiModel):
    prompt: str = ""
    model: str | None = None
    focus_table_ids: list[str] = Field(default_factory=list)


class RunAction(OrigamiModel):
    type: str
    table_id: str | None = None
    table_name: str | None = None
    column_id: str | None = None
    column_name: str | None = None
    count: int | None = None
    lead_count: int | None = None
    deleted_at: str | None = None


class CellsLiveness(OrigamiModel):
    running: int = 0
    errored: int = 0


class CreditsLifetime(OrigamiModel):
    lifetime_used: float = 0


class ColumnStats(OrigamiModel):
    avg_credits_per_run: float | None = None
    call_rate: float | None = None
    total_runs: int | None = None


class ColumnQualification(OrigamiModel):
    pass_: int = Field(0, alias="pass")
    fail: int = 0
    unsure: int = 0
    total: int = 0


class TableColumn(OrigamiModel):
    id: str
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
    qualified_leads: int | None = None
    effective_leads_per_qualified: float | None = None
    estimated_qualified_leads: int | None = None


class TableFunnelStats(OrigamiModel):
    total_sourced_leads: int | None = None
    post_static_leads: int | None = None
    deduped_leads: int | None = None
    dedup_rate: float | None = None
    excluded_leads: int | None = None
    excluded_rate: float | None = None


class TableRunningStats(OrigamiModel):
    running_leads: int = 0
    oldest_active_run_started_at: str | None = None


class TableLeadSourceStats(OrigamiModel):
    id: str | None = None
    name: str = ""
    avg_credits_per_lead: float | None = None
    total_credits: float | None = None
    total_leads: int | None = None
    source: str | None = None


class TableStats(OrigamiModel):
    credits_per_lead: float | None = None
    credits_per_qualified_lead: float | None = None
    find_more_estimated_credits: float | None = None
    qualification: TableQualificationStats | None = None
    funnel: TableFunnelStats | None = None
    running: TableRunningStats | None = None
    lead_sources: list[TableLeadSourceStats] = Field(default_factory=list)
    has_unknown_total_with_more: bool = False


class Table(OrigamiModel):
    id: str
    name: str = "Untitled table"
    workspace_id: str | None = None
    lead_count: int = 0
    columns: list[TableColumn] = Field(default_factory=list)
    credits: CreditsLifetime = Field(default_factory=CreditsLifetime)
    cells: CellsLiveness = Field(default_factory=CellsLiveness)
    url: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
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
    tool_calls: list[TranscriptToolCall] = Field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None
    result: str | None = None
    truncated: bool = False


class RunResponse(OrigamiModel):
    text: str | None = None
    actions: list[RunAction] = Field(default_factory=list)
    tables: list[Table] = Field(default_factory=list)
    transcript: list[TranscriptMessage] | None = None
    transcript_truncated: bool = False


class PendingQuestion(OrigamiModel):
    type: str = "single-choice"
    question: str
    suggested_answers: list[str] = Field(default_factory=list)
    freeform_option: str = "Or something else"


class NextAction(OrigamiModel):
    label: str
    type: str | None = None
    table_slug: str | None = None


class RunTodo(OrigamiModel):
    pending_questions: list[PendingQuestion] = Field(default_factory=list)
    next_actions: list[NextAction] = Field(default_factory=list)


class Run(OrigamiModel):
    id: str
    agent_id: str
    status: TolerantStatus
    # The string the API sent, kept so an UNKNOWN status can still be logged and shown.
    status_raw: str = ""
    prompt: str = ""
    model: str | None = None
    steps: RunSteps = Field(default_factory=RunSteps)
    started_at: str | None = None
    completed_at: str | None = None
    workspace_id: str | None = None
    request: RunRequest | None = None
    response: RunResponse | None = None
    todo: RunTodo = Field(default_factory=RunTodo)

    @model_validator(mode="before")
    @classmethod
    def _keep_raw_status(cls, data: Any) -> Any:
        if isinstance(data, dict) and "statusRaw" not in data and "status_raw" not in data:
            data = {**data, "statusRaw": str(data.get("status", ""))}
        return data

    @field_validator("todo", mode="before")
    @classmethod
    def _null_todo(cls, value: Any) -> Any:
        return {} if value is None else value


class AgentSummary(OrigamiModel):
    id: str
    name: str = ""
    workspace_id: str | None = None
    created_at: str | None = None


class WorkspaceRef(OrigamiModel):
    id: str
    name: str = ""
    created_at: str | None = None
    created_by_api: bool | None = None


class CreatedAgent(OrigamiModel):
    """The 202 body of ``POST /agents``."""

    agent: AgentSummary
    run: Run
    workspace: WorkspaceRef | None = None


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
    blocked_by_budgets: list[str] = Field(default_factory=list)
    current_run: CurrentRun | None = None
    limit: int | None = None
    active_sessions: list[ActiveSession] = Field(default_factory=list)
    can_upgrade: bool | None = None

    @field_validator("active_sessions", "blocked_by_budgets", mode="before")
    @classmethod
    def _null_list(cls, value: Any) -> Any:
        # A null here must not cost us the whole body (and with it the error's code).
        return [] if value is None else value

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
