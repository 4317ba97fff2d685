"""What each of a run's typed next steps does, decided from its type and the run's tables
(``bot.conversations.next_steps`` acts on it when clicked; the result's blocks leave out
a step its cards already offer)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.domain import NextStep, StepKind
from bot.origami.models import Table
from bot.origami.next_actions import NextAction, NextActionType


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _table_for(slug: str | None, tables: Sequence[Table]) -> str:
    """The id of the run's table a step names (by id, by name, or by its name's slug; the
    docs give no call that turns a slug into an id); with no name, the run's only table.
    Empty when none matches: the step is then a prompt, and the agent is asked."""
    usable = [t for t in tables if t.id]
    if slug is None:
        return usable[0].id if len(usable) == 1 else ""
    wanted = slug.strip().lower()
    for table in usable:
        if wanted in (table.id.lower(), table.name.strip().lower(), _slug(table.name)):
            return table.id
    return ""


def to_next_step(action: NextAction, tables: Sequence[Table]) -> NextStep:
    if action.type is NextActionType.EXPORT_CSV:
        table_id = _table_for(action.table_slug, tables)
        if table_id:
            return NextStep(StepKind.EXPORT_CSV, table_id)
    elif action.type is NextActionType.UPLOAD_CSV:
        return NextStep(StepKind.ASK_FOR_FILE)
    elif action.type is NextActionType.SCHEDULE_PLAY:
        return NextStep(StepKind.SCHEDULE)
    return NextStep(StepKind.PROMPT)


def to_next_steps(actions: Sequence[NextAction], tables: Sequence[Table]) -> list[NextStep]:
    return [to_next_step(action, tables) for action in actions]
