"""The agent's next steps, by type: what each does when clicked.

``export_csv`` exports the table it names, as the table card's Export CSV does;
``upload_csv`` asks the person to share the file in the thread (a file shared there goes
to the agent); ``schedule_play`` opens the schedule modal (the listener opens it, with the
draft ``click`` returns); every other step, typed or not, sends its label as the next run.

What a step does is decided when the run is delivered (``to_next_steps``) and saved with
its outcome: a click names only the run and the step's index.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.conversations.buttons import Buttons, run_here
from bot.conversations.tables import Tables
from bot.domain import NextStep, Note, StepKind, ThreadRef
from bot.origami.models import Table
from bot.origami.next_actions import NextAction, NextActionType
from bot.ports import Presenter
from bot.schedules.manage import Draft
from bot.stores import Stores


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


class NextSteps:
    def __init__(
        self,
        stores: Stores,
        presenter: Presenter,
        buttons: Buttons,
        tables: Tables,
    ) -> None:
        self.stores = stores
        self.presenter = presenter
        self.buttons = buttons
        self.tables = tables

    async def schedule_draft(self, thread: ThreadRef, run_id: str, user_id: str) -> Draft | None:
        """What the schedule modal opens with, for a run of this thread (a result's
        Schedule button, or a ``schedule_play`` step): the run's prompt, and this channel
        as the place to post. None: the run is not this thread's (the person is told)."""
        record = await run_here(self.stores, self.presenter, thread, run_id, user_id)
        if record is None:
            return None
        return Draft(prompt=record.prompt, channel=thread.channel)

    async def click(
        self, thread: ThreadRef, run_id: str, index: int, user_id: str, message_ts: str
    ) -> Draft | None:
        """Do what the step says; for a ``schedule_play`` step, the modal's draft (the
        listener opens it: it holds the click's trigger id)."""
        record = await run_here(self.stores, self.presenter, thread, run_id, user_id)
        if record is None:
            return None
        outcome = await self.stores.deliveries.outcome(thread.team, run_id)
        if outcome is None or not 0 <= index < len(outcome.next_actions):
            await self.presenter.note(thread, user_id, Note.EXPIRED)
            return None
        step = outcome.step(index)
        if step.kind is StepKind.SCHEDULE:
            return Draft(prompt=record.prompt, channel=thread.channel)
        if step.kind is StepKind.EXPORT_CSV:
            # Not one-shot, as the card's own Export CSV: each click uploads the rows as
            # they are then.
            await self.tables.export_csv(thread, run_id, step.table_id, user_id)
        elif step.kind is StepKind.ASK_FOR_FILE:
            await self.presenter.note(thread, user_id, Note.SHARE_A_FILE)
        else:
            label = outcome.next_actions[index]
            await self.buttons.send_next_step(thread, run_id, index, label, user_id, message_ts)
        return None
