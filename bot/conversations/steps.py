"""Show steps: what the agent did in a finished run (its transcript's tool calls), posted
in the thread once, whoever clicks and however often."""

from __future__ import annotations

import logging

from bot.conversations.buttons import run_here
from bot.domain import Note, ThreadRef
from bot.origami.transcript import tool_steps
from bot.ports import Presenter
from bot.problems import problem_from_error
from bot.stores import Stores
from bot.tenancy.origami import OrigamiFor

log = logging.getLogger(__name__)


class Steps:
    def __init__(self, stores: Stores, origami: OrigamiFor, presenter: Presenter) -> None:
        self.stores = stores
        self.origami = origami
        self.presenter = presenter

    async def show(self, thread: ThreadRef, run_id: str, user_id: str) -> None:
        record = await run_here(self.stores, self.presenter, thread, run_id, user_id)
        if record is None:
            return
        try:
            origami = await self.origami.for_team(thread.team)
            run = await origami.get_transcript(record.agent_id, run_id)
        except Exception as exc:
            # Only the person who clicked needs to know; they can click again.
            await self.presenter.problem_for(thread, user_id, problem_from_error(exc))
            return
        # Claimed once read, so a failed read can be tried again by another click.
        if not await self.stores.claims.claim_action(thread.team, f"steps:{run_id}"):
            await self.presenter.note(thread, user_id, Note.STEPS_SHOWN)
            return
        response = run.response
        steps = tool_steps(response.transcript or [] if response is not None else [])
        truncated = response.transcript_truncated if response is not None else False
        await self.presenter.show_steps(thread, steps, truncated=truncated)
        log.info("steps shown", extra={"run": run_id, "steps": len(steps)})
