"""The agent's next steps, by type: what each does when clicked.

``export_csv`` exports the table it names, as the table card's Export CSV does;
``upload_csv`` asks the person to share the file in the thread (a file shared there goes
to the agent); every other step, typed or not, sends its label as the next run. Schedules
do not exist in the app yet, so ``schedule_play`` is a prompt too, for now.

What a step does is decided when the run is delivered (``to_next_steps``) and saved with
its outcome: a click names only the run and the step's index.
"""

from __future__ import annotations

from bot.conversations.buttons import Buttons, run_here
from bot.conversations.tables import Tables
from bot.domain import Note, StepKind, ThreadRef
from bot.next_step_kinds import to_next_step as to_next_step
from bot.next_step_kinds import to_next_steps as to_next_steps
from bot.ports import Presenter
from bot.stores import Stores


class NextSteps:
    def __init__(
        self, stores: Stores, presenter: Presenter, buttons: Buttons, tables: Tables
    ) -> None:
        self.stores = stores
        self.presenter = presenter
        self.buttons = buttons
        self.tables = tables

    async def click(
        self, thread: ThreadRef, run_id: str, index: int, user_id: str, message_ts: str
    ) -> None:
        if await run_here(self.stores, self.presenter, thread, run_id, user_id) is None:
            return
        outcome = await self.stores.deliveries.outcome(thread.team, run_id)
        if outcome is None or not 0 <= index < len(outcome.next_actions):
            await self.presenter.note(thread, user_id, Note.EXPIRED)
            return
        step = outcome.step(index)
        if step.kind is StepKind.EXPORT_CSV:
            # Not one-shot, as the card's own Export CSV: each click uploads the rows as
            # they are then.
            await self.tables.export_csv(thread, run_id, step.table_id, user_id)
        elif step.kind is StepKind.ASK_FOR_FILE:
            await self.presenter.note(thread, user_id, Note.SHARE_A_FILE)
        else:
            label = outcome.next_actions[index]
            await self.buttons.send_next_step(thread, run_id, index, label, user_id, message_ts)
