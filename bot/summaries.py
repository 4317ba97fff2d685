"""What App Home shows: of a conversation, where its last run stands, the tables it made
(with their lead counts), and when it last moved.

A summary is written on paths that already write the thread: "working" in the MULTI that
starts watching a run (``RunStore.watch``), the outcome in the step that releases the
thread when the run is over (``ThreadStore.release``). Reading one costs nothing on a
mention's path: only App Home reads them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.domain import StartedConversation
from bot.origami.models import Run, RunStatus

# Bounds, so a summary stays small whatever Origami answered (a Home tab shows a few).
TABLES_MAX = 5
TABLE_NAME_MAX = 80


class ConversationStatus(StrEnum):
    WORKING = "working"  # a run in flight, or a prompt being sent
    ANSWERED = "answered"
    NEEDS_ANSWER = "needs_answer"  # the agent asked questions: its author's turn
    FAILED = "failed"
    STOPPED = "stopped"  # stopped by a person, or cut short (steps, time): can go on


@dataclass(frozen=True, slots=True)
class TableCount:
    name: str
    leads: int


@dataclass(frozen=True, slots=True)
class Summary:
    status: ConversationStatus
    at: float  # epoch seconds: the conversation's last activity
    tables: tuple[TableCount, ...] = ()


_BY_RUN_STATUS = {
    RunStatus.COMPLETED: ConversationStatus.ANSWERED,
    RunStatus.NEEDS_INPUT: ConversationStatus.NEEDS_ANSWER,
    RunStatus.CANCELLED: ConversationStatus.STOPPED,
    RunStatus.INCOMPLETE: ConversationStatus.STOPPED,
    RunStatus.STEP_CAP_HIT: ConversationStatus.STOPPED,
    RunStatus.TIMED_OUT: ConversationStatus.STOPPED,
    RunStatus.ERRORED: ConversationStatus.FAILED,
    RunStatus.UNKNOWN: ConversationStatus.FAILED,
    RunStatus.RUNNING: ConversationStatus.WORKING,
}


def to_tables(names_and_leads: Sequence[tuple[str, int]]) -> tuple[TableCount, ...]:
    return tuple(
        TableCount(name[:TABLE_NAME_MAX], max(0, leads))
        for name, leads in names_and_leads[:TABLES_MAX]
    )


def summary_of_run(run: Run, at: float | None = None) -> Summary:
    """A finished run's summary: its status as a person reads it, and its tables."""
    tables = run.response.tables if run.response else []
    return Summary(
        status=_BY_RUN_STATUS[run.status],
        at=time.time() if at is None else at,
        tables=to_tables([(t.name, int(t.lead_count)) for t in tables]),
    )


def working(at: float | None = None) -> Summary:
    return Summary(ConversationStatus.WORKING, time.time() if at is None else at)


def failed(at: float | None = None) -> Summary:
    """A run given up on, or lost in Origami: the conversation's tables stay as they were."""
    return Summary(ConversationStatus.FAILED, time.time() if at is None else at)


@dataclass(frozen=True, slots=True)
class RecentConversation:
    started: StartedConversation
    summary: Summary | None  # None: last used before summaries were kept


class AccountState(StrEnum):
    READ = "read"
    NOT_CONNECTED = "not_connected"  # many workspaces: no key connected yet
    UNAVAILABLE = "unavailable"  # Origami did not answer, or refused the key


@dataclass(frozen=True, slots=True)
class AccountFacts:
    state: AccountState
    organization: str = ""
    plan: str = ""
    balance: float | None = None
