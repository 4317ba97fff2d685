"""Slack's own Stop, on a thread's agent session: the run in flight is cancelled once.

The Stop button of a workspace without sessions claims the same ``stop:<run>`` action, so
a press of both, Slack's retries and two processes cancel the run one time between them.
"""

from __future__ import annotations

import logging

from bot.agent_platform import AgentSurface
from bot.domain import ThreadRef
from bot.origami.client import idempotency_key
from bot.ports import Presenter
from bot.problems import report
from bot.stores import Stores
from bot.tenancy.origami import OrigamiFor

log = logging.getLogger(__name__)


class Sessions:
    def __init__(
        self, stores: Stores, origami: OrigamiFor, presenter: Presenter, surface: AgentSurface
    ) -> None:
        self.stores = stores
        self.origami = origami
        self.presenter = presenter
        self.surface = surface

    async def stopped(self, thread: ThreadRef, user_id: str) -> None:
        """``user_id`` pressed Slack's Stop in ``thread`` (the event names the thread, so
        nothing from another thread can be stopped from here)."""
        state = await self.stores.threads.get(thread)
        run_id = state.busy.run_id if state is not None and state.busy is not None else None
        if run_id is None:
            return  # nothing in flight: the run ended as the press arrived
        record = await self.stores.runs.get(thread.team, run_id)
        if record is None or record.thread != thread:
            return
        if not await self.stores.claims.claim_action(thread.team, f"stop:{run_id}"):
            return  # stopped already (a retry, the other Stop, another process)
        try:
            origami = await self.origami.for_team(thread.team)
            await origami.cancel(record.agent_id, idempotency_key=idempotency_key("stop", run_id))
        except Exception as exc:
            await report(self.presenter, thread, exc, None, agent_call=True)
            return
        # Said after the cancel, so a Slack hiccup here cannot lose the press itself.
        try:
            await self.surface.say_stopped(thread, user_id)
        except Exception:
            log.warning("could not say who stopped the run", exc_info=True)
        # The watcher sees the run turn `cancelled` on its next poll and posts what was built.
