"""The agent's next steps, by type: what each does when clicked.

``export_csv`` exports the table it names, as the table card's Export CSV does;
``upload_csv`` asks the person to share the file in the thread (a file shared there goes
to the agent); ``schedule_play`` opens the schedule modal (the listener opens it, with the
draft ``click`` returns); every other step, typed or not, sends its label as the next run.

What a step does is decided when the run is delivered (``to_next_steps``) and saved with
its outcome: a click names only the run and the step's index.
"""

from __future__ import annotations

from bot.conversations.buttons import Buttons, run_here
from bot.conversations.intake import Intake
from bot.conversations.tables import Tables
from bot.domain import Note, StepKind, ThreadRef
from bot.ports import Presenter
from bot.schedules.manage import Draft
from bot.stores import Stores


class NextSteps:
    def __init__(
        self,
        stores: Stores,
        presenter: Presenter,
        buttons: Buttons,
        tables: Tables,
        intake: Intake,
    ) -> None:
        self.stores = stores
        self.presenter = presenter
        self.buttons = buttons
        self.tables = tables
        self.intake = intake

    async def schedule_draft(self, thread: ThreadRef, run_id: str, user_id: str) -> Draft | None:
        """What the schedule modal opens with, for a run of this thread (a result's
        Schedule button, or a ``schedule_play`` step): the run's prompt, and this channel
        as the place to post. None: the run is not this thread's, or the workspace's
        settings leave the person or this channel out (the person is told)."""
        record = await run_here(self.stores, self.presenter, thread, run_id, user_id)
        if record is None:
            return None
        return await self._draft(thread, record.prompt, user_id)

    async def _draft(self, thread: ThreadRef, prompt: str, user_id: str) -> Draft | None:
        # Said before the modal opens, in the intake's words: the submission would be
        # refused anyway (``Schedules.create`` checks again, for the channel picked).
        why = await self.intake.refusal(thread.team, thread.channel, user_id)
        if why is not None:
            await self.presenter.not_allowed(thread, user_id, why)
            return None
        return Draft(prompt=prompt, channel=thread.channel)

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
            return await self._draft(thread, record.prompt, user_id)
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
