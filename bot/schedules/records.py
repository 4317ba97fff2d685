"""What the app keeps of a schedule made from Slack, and what it shows of one."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class ScheduleRecord:
    """A schedule made from this workspace: Origami holds its prompt and cron, the app
    where its runs are posted and who may change it."""

    team: str
    schedule_id: str
    channel: str  # where each run opens a thread
    creator: str  # the Slack user who made it (may pause, resume, delete it)
    name: str
    cron: str
    prompt: str  # what each run's thread was asked (its opener shows it)
    created_at: float = field(default_factory=time.time)


class Change(StrEnum):
    """What App Home's buttons do to a schedule."""

    PAUSE = "pause"
    RESUME = "resume"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class ScheduleView:
    """A schedule as App Home and ``/origami schedules`` show it."""

    record: ScheduleRecord
    enabled: bool
    next_run_at: str | None  # RFC 3339, from Origami; None when paused or unknown
    plan_blocked: bool = False
